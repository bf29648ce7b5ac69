// One round of bench/warm-process.mjs against the checkout at argv[2]: prints {python: [ms…], node: [ms…]}.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkoutLoader } from './checkout.mjs';

const [root, nArg] = process.argv.slice(2);
const n = Number(nArg);
const load = checkoutLoader(root);
const { startHost } = await load('host');
const { NanoGridClient } = await load('client');
const { silentLogger } = await load('core');

const dataDir = await mkdtemp(join(tmpdir(), 'nanogrid-bench-warm-'));
const host = await startHost({
  config: {
    dataDir,
    sandbox: 'process',
    warm: { enabled: true },
    http: { rateLimit: false },
    embedded: { store: 'memory' },
  },
  port: 0,
  hostname: '127.0.0.1',
  handleSignals: false,
  logger: silentLogger,
  cwd: dataDir,
});
const api = new NanoGridClient({ url: host.url });
const sources = {
  python: ['py', 'python3.11', 'fn.py', 'def handler(event, context):\n    return {"ok": True}\n'],
  node: ['js', 'nodejs18.x', 'fn.mjs', 'export async function handler(event) { return { ok: true }; }\n'],
};
const out = {};
try {
  for (const [runtime, [name, id, file, code]] of Object.entries(sources)) {
    const fn = await api.deploy({
      name: `${name}-${process.pid}`,
      runtime: id,
      code,
      fileName: file,
      handler: 'fn.handler',
    });
    const call = async () => {
      const job = await api.run(fn.function_id, {});
      if (job.status !== 'completed') throw new Error(`run: ${JSON.stringify(job)}`);
    };
    for (let i = 0; i < 30; i++) await call(); // start the instance, warm the JIT
    const ms = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await call();
      ms.push(performance.now() - t);
    }
    out[runtime] = ms;
  }
} finally {
  await host.close();
  await rm(dataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
