// The first call of a never-seen function on a prewarmed Docker spare, through `invoke()` and the pool alone (no HTTP,
// no client, no records): the host's claim and the spare's load and call. This checkout against another one (built),
// alternating rounds in fresh processes:
//   node bench/spare-call.mjs <baseline checkout> [--runtime=python|node] [--memory=512] [--n=10] [--rounds=3] [--gap=600]
// Per round and checkout (medians of its n first calls): wall time of the call, this process's CPU during it (the
// host side: claim, code links, limits, channel) and the claimed spare's CPU during it (its cgroup). --memory other
// than the spares' 512 MB makes each claim change the limit.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { alternateCheckouts, checkoutRuntime, HELLO_FILES, printSides } from './checkout.mjs';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const runtimeKind = arg('runtime', 'python');
const memoryMb = Number(arg('memory', '512'));
const n = Number(arg('n', '10'));
const gapMs = Number(arg('gap', '600'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** CPU µs of the running instances of this process (read around a call: a refill started after it is not counted). */
async function instances() {
  const { stdout } = await run('docker', [
    'ps',
    '--filter',
    `label=nanogrid.pid=${process.pid}`,
    '--format',
    '{{.Label "nanogrid.run"}}',
  ]);
  const runs = stdout.split('\n').filter(Boolean);
  return () => {
    let us = 0;
    for (const id of runs) {
      for (const file of [`cpuacct/nanogrid/${id}/cpuacct.usage`, `nanogrid/${id}/cpu.stat`]) {
        try {
          const text = readFileSync(`/sys/fs/cgroup/${file}`, 'utf8');
          us += file.endsWith('usage') ? Number(text) / 1000 : Number(/^usage_usec (\d+)/m.exec(text)?.[1] ?? 0);
          break;
        } catch {
          // the other cgroup version
        }
      }
    }
    return us;
  };
}

async function child(root) {
  const { load, core, runtime } = await checkoutRuntime(root, runtimeKind);
  const sandbox = (await load('sandbox-docker')).dockerSandbox({
    logger: core.silentLogger,
    workerId: `spare-call-${process.pid}`,
  });
  const spares = { image: runtime.image, command: runtime.serve.prewarm, count: 2, memoryMb: 512 };
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-spare-call-'));
  const [file, source] = HELLO_FILES[runtimeKind];
  const rows = [];
  try {
    await sandbox.prewarm({ ...spares, files: runtime.bootstrap });
    for (let i = -1; i < n; i++) {
      const codeDir = join(dir, `code-${i + 1}`, 'src');
      const comment = runtimeKind === 'python' ? '#' : '//';
      for (const [path, text] of Object.entries({ [file]: `${source}${comment} ${i}\n`, ...runtime.bootstrap }))
        await mkdir(dirname(join(codeDir, path)), { recursive: true }).then(() => writeFile(join(codeDir, path), text));
      await sandbox.prewarm({ ...spares, files: runtime.bootstrap }); // the last call's refill started
      await new Promise((r) => setTimeout(r, gapMs)); // and its runtime loaded: steady state, not a burst
      const cpuOf = await instances();
      const spareCpu0 = cpuOf();
      const hostCpu0 = process.cpuUsage();
      const t0 = performance.now();
      const outcome = await core.invoke(sandbox, {
        runtime,
        fn: { runtime: runtime.runtimes[0], handler: 'main.handler', entryFile: file },
        codeDir,
        outputDir: join(dir, `out-${i + 1}`),
        payload: { i },
        jobId: `job-${i + 1}`,
        functionId: `fn-${i + 1}`,
        functionName: `spare-call-${i + 1}`,
        timeoutMs: 30_000,
        memoryMb,
        network: 'none',
        warmKey: `fn-${i + 1}`,
      });
      const wall = performance.now() - t0;
      const host = process.cpuUsage(hostCpu0);
      const spare = cpuOf() - spareCpu0;
      if (!outcome.ok || outcome.start !== 'prewarmed') throw new Error(`call ${i}: ${JSON.stringify(outcome)}`);
      if (i >= 0) rows.push({ wall: wall * 1000, hostCpu: host.user + host.system, spareCpu: spare });
    }
    console.log(
      JSON.stringify({
        wall: median(rows.map((r) => r.wall)),
        hostCpu: median(rows.map((r) => r.hostCpu)),
        spareCpu: median(rows.map((r) => r.spareCpu)),
      }),
    );
  } finally {
    await sandbox.close?.();
    await rm(dir, { recursive: true, force: true });
  }
}

async function parent(baseline) {
  const rounds = Number(arg('rounds', '3'));
  const seen = await alternateCheckouts(new URL(import.meta.url).pathname, baseline, rounds, [
    `--runtime=${runtimeKind}`,
    `--memory=${memoryMb}`,
    `--n=${n}`,
  ]);
  console.log(
    `${runtimeKind} spare, ${memoryMb} MB: ${n} first calls × ${rounds} rounds, medians (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
  );
  printSides(
    seen,
    [
      { key: 'wall', title: 'wall µs' },
      { key: 'hostCpu', title: 'host CPU µs' },
      { key: 'spareCpu', title: 'spare CPU µs' },
    ],
    { width: 13, roundKeys: ['wall', 'hostCpu', 'spareCpu'], roundsLabel: 'wall/host/spare' },
  );
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else if (process.argv[2] && !process.argv[2].startsWith('--')) await parent(process.argv[2]);
else
  throw new Error(
    'usage: node bench/spare-call.mjs <baseline checkout> [--runtime=python|node] [--memory=512] [--n=10] [--rounds=3]',
  );
