// Deploy time with dependencies: a Node function whose package.json names
// is-number (from the npm registry), deployed through the registry of an
// all-in-one engine on the process sandbox (bubblewrap).
//   node bench/deps-deploy.mjs [n]
// Rows: no package.json (baseline); a manifest never seen (the install runs:
// each deploy changes the manifest's description); the same manifest with new
// code (cache hit: the installed tree is linked, nothing runs).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  composeNanoGrid,
  createZip,
  fsStorage,
  memoryQueue,
  memoryResults,
  processSandbox,
  silentLogger,
} from '@nanogrid/core';
import { nodeRuntime } from '@nanogrid/runtime-node';
import { sample } from './stats.mjs';

const n = Number(process.argv[2] ?? 10);
const dir = await mkdtemp(join(tmpdir(), 'nanogrid-bench-deps-'));
const ng = await composeNanoGrid(
  {
    dataDir: join(dir, 'data'),
    storage: fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
    queue: memoryQueue({ name: 'bench-deps' }),
    results: memoryResults(),
    sandbox: processSandbox({ logger: silentLogger }),
    runtimes: [nodeRuntime()],
  },
  { runtimes: [], cwd: dir, logger: silentLogger },
);

let seq = 0;
const deploy = async (files) =>
  ng.registry.deploy({
    functionName: `bench-${++seq}`,
    runtime: 'nodejs20.x',
    fileName: 'code.zip',
    data: await createZip(Object.entries(files).map(([path, data]) => ({ path, data }))),
  });
const code = (i) => `import isNumber from 'is-number';\nexport const handler = (e) => isNumber(e.x); // ${i}\n`;
const manifest = (description) => JSON.stringify({ name: 'fn', description, dependencies: { 'is-number': '7.0.0' } });

try {
  const rows = [
    [
      'no package.json (baseline)',
      await sample(n, (i) => deploy({ 'main.mjs': `export const handler = () => ${i};\n` })),
    ],
    [
      'new manifest: npm install',
      await sample(Math.max(3, Math.ceil(n / 2)), (i) =>
        deploy({ 'main.mjs': code(i), 'package.json': manifest(`miss ${i}`) }),
      ),
    ],
    [
      'same manifest, new code: cache hit',
      await sample(n, (i) => deploy({ 'main.mjs': code(`hit ${i}`), 'package.json': manifest('hit') }), 1),
    ],
  ];
  const base = rows[0][1].median;
  console.log(
    `${'deploy'.padEnd(38)}${'n'.padStart(4)}${'median ms'.padStart(12)}${'p95 ms'.padStart(10)}${'x baseline'.padStart(12)}`,
  );
  for (const [name, s] of rows) {
    console.log(
      `${name.padEnd(38)}${String(s.n).padStart(4)}${s.median.toFixed(1).padStart(12)}${s.p95.toFixed(1).padStart(10)}${(s.median / base).toFixed(1).padStart(12)}`,
    );
  }
} finally {
  await ng.close();
  await rm(dir, { recursive: true, force: true });
}
