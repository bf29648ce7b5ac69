// One warm call through `invoke()` and a sandbox's warm pool, no HTTP, no records: the pipe side of the warm path,
// this checkout against another one (built), alternating rounds in fresh processes:
//   node bench/warm-call.mjs <baseline checkout> [--sandbox=process|docker] [--runtime=python|node] [--n=3000]
//     [--rounds=3]
// Per round and checkout: p50 and p95 of one call's wall time, this process's CPU per call (the host side: pool,
// channel, peak reads, stderr), its voluntary context switches per call (event-loop sleeps), and the instance's
// CPU per call (its cgroup with Docker, this process's descendants' threads otherwise). Medians of the rounds.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { alternateCheckouts, checkoutRuntime, HELLO_FILES, printSides } from './checkout.mjs';
import { instancesCpuUs } from './cpu-stages.mjs';
import { descendants } from './descendants.mjs';

const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const sandboxKind = arg('sandbox', 'process');
const runtimeKind = arg('runtime', 'python');
const n = Number(arg('n', '3000'));

/** This process's CPU (µs) and voluntary context switches so far. */
function selfCounters() {
  const cpu = process.cpuUsage();
  const status = readFileSync('/proc/self/status', 'utf8');
  return { cpuUs: cpu.user + cpu.system, switches: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]) };
}

/** CPU of this process's descendants, µs: the run time of each of their threads (schedstat, in ns). */
function descendantsCpuUs() {
  let total = 0;
  for (const p of descendants()) {
    try {
      for (const task of readdirSync(`/proc/${p.pid}/task`))
        total += Number(readFileSync(`/proc/${p.pid}/task/${task}/schedstat`, 'latin1').split(' ')[0]) / 1000;
    } catch {
      // exited
    }
  }
  return total;
}

async function child(root) {
  const { load, core, runtime } = await checkoutRuntime(root, runtimeKind);
  const sandbox =
    sandboxKind === 'docker'
      ? (await load('sandbox-docker')).dockerSandbox({
          logger: core.silentLogger,
          workerId: `warm-call-${process.pid}`,
        })
      : core.processSandbox({ logger: core.silentLogger });
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-warm-call-'));
  const codeDir = join(dir, 'code');
  const [file, source] = HELLO_FILES[runtimeKind];
  for (const [path, text] of Object.entries({ [file]: source, ...runtime.bootstrap })) {
    await mkdir(dirname(join(codeDir, path)), { recursive: true });
    await writeFile(join(codeDir, path), text);
  }
  const outputDir = join(dir, 'output');
  await mkdir(outputDir);
  const fn = { runtime: runtime.runtimes[0], handler: 'main.handler', entryFile: file };
  const call = async (i) => {
    const outcome = await core.invoke(sandbox, {
      runtime,
      fn,
      codeDir,
      outputDir,
      payload: { i },
      jobId: `job-${i}`,
      functionId: 'fn-warm-call',
      functionName: 'warm-call',
      timeoutMs: 30_000,
      memoryMb: 256,
      network: 'none',
      warmKey: 'warm-call',
    });
    if (!outcome.ok) throw new Error(`call ${i} failed: ${JSON.stringify(outcome.error)} ${outcome.logs}`);
  };
  const instanceCpu = () => (sandboxKind === 'docker' ? instancesCpuUs(process.pid) : descendantsCpuUs());
  try {
    for (let i = 0; i < 200; i++) await call(i); // start and warm up
    const times = new Float64Array(n);
    const before = selfCounters();
    const inst0 = await instanceCpu();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await call(i);
      times[i] = performance.now() - t0;
    }
    const after = selfCounters();
    const inst1 = await instanceCpu();
    times.sort();
    console.log(
      JSON.stringify({
        p50: times[Math.floor(n / 2)] * 1000,
        p95: times[Math.floor(n * 0.95)] * 1000,
        hostCpu: (after.cpuUs - before.cpuUs) / n,
        sleeps: (after.switches - before.switches) / n,
        instanceCpu: (inst1 - inst0) / n,
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
    `--sandbox=${sandboxKind}`,
    `--runtime=${runtimeKind}`,
    `--n=${n}`,
  ]);
  console.log(
    `${runtimeKind}, ${sandboxKind}: ${n} calls × ${rounds} rounds, medians (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
  );
  printSides(
    seen,
    [
      { key: 'p50', title: 'p50 µs' },
      { key: 'p95', title: 'p95 µs' },
      { key: 'hostCpu', title: 'host CPU µs' },
      { key: 'sleeps', title: 'sleeps', digits: 2 },
      { key: 'instanceCpu', title: 'instance CPU µs' },
    ],
    { width: 15, roundKeys: ['p50', 'hostCpu'], roundsLabel: 'p50/host CPU' },
  );
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else if (process.argv[2] && !process.argv[2].startsWith('--')) await parent(process.argv[2]);
else
  throw new Error(
    'usage: node bench/warm-call.mjs <baseline checkout> [--sandbox=process|docker] [--runtime=python|node] [--n=3000] [--rounds=3]',
  );
