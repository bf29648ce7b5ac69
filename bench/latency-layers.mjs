// One client's warm latency, layer by layer, alternated in one run:
//   node bench/latency-layers.mjs [--sandbox=process|docker] [--runtime=python|node] [--n=2000] [--rounds=3]
// Rows: the floor (bench/floor-server.mjs); the host with a sandbox that answers every warm call at once from memory
// (HTTP, job records, worker, executor: the host's own path, no instance); the host with a real warm instance. Each
// round runs the three back to back with the same keep-alive client (bench/load.mjs, one client, its own process);
// the table has the medians of the rounds. The differences say where a call's wall time goes: host − floor is the
// host's own path, instance − host is the pipe round trip to the instance and the runtime's work.
// Also per call: the host process's CPU (µs, user + system) and its voluntary context switches (how often its
// event loop went to sleep: the wake-ups), read from /proc.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { silentLogger } from '@nanogrid/core';
import { startHost } from '@nanogrid/host';
import { instancesCpuUs } from './cpu-stages.mjs';
import { descendants } from './descendants.mjs';
import { startFloor } from './floor-server.mjs';
import { instantSandbox } from './instant-sandbox.mjs';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const n = Number(arg('n', '2000'));
const rounds = Number(arg('rounds', '3'));
const sandbox = arg('sandbox', 'process');
const runtime = arg('runtime', 'python');
const PY = 'def handler(event, context):\n    return {"ok": True}\n';
const JS = 'export async function handler(event) { return { ok: true }; }\n';

const instant = instantSandbox('latency-layers');

/** This process's CPU (µs) and voluntary context switches so far (all its threads). */
function selfCounters() {
  const cpu = process.cpuUsage();
  const status = readFileSync('/proc/self/status', 'utf8');
  const switches = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { cpuUs: cpu.user + cpu.system, switches };
}

/** CPU of this process's descendants (the process sandbox's instances), µs; read between load runs. */
function descendantsCpuUs() {
  let total = 0;
  for (const p of descendants()) total += (Number(p.fields[11]) + Number(p.fields[12])) * 10_000;
  return total;
}

/** The warm instances' CPU so far, µs: Docker containers' cgroups, or this process's descendants. */
const instanceCpuUs = () => (sandbox === 'docker' ? instancesCpuUs(process.pid) : descendantsCpuUs());

async function startOne(dataDir, sandboxConfig) {
  return startHost({
    config: {
      dataDir,
      sandbox: sandboxConfig,
      http: { rateLimit: false, maxInflight: 100_000 },
      worker: { concurrency: 8, pollWaitMs: 1000 },
      warm: { enabled: true },
      embedded: { store: 'memory' },
    },
    port: 0,
    hostname: '127.0.0.1',
    handleSignals: false,
    logger: silentLogger,
    cwd: dataDir,
  });
}

/** One client, `total` calls; p50 and p95 (ms) plus this process's CPU µs and sleeps per call meanwhile. */
async function measure(url, fid, total) {
  const before = selfCounters();
  const inst0 = await instanceCpuUs();
  const { stdout } = await run(
    'node',
    [new URL('./load.mjs', import.meta.url).pathname, url, fid, String(total), '1', '--latency'],
    { maxBuffer: 1 << 20 },
  );
  const after = selfCounters();
  const inst1 = await instanceCpuUs();
  const r = JSON.parse(stdout.trim().split('\n').at(-1));
  if (r.failed > 0) throw new Error(`load: ${r.failed} of ${total} failed`);
  return {
    p50: r.median,
    p95: r.p95,
    cpuUs: (after.cpuUs - before.cpuUs) / total,
    sleeps: (after.switches - before.switches) / total,
    clientCpuUs: r.cpuUsPerCall,
    instanceCpuUs: (inst1 - inst0) / total,
  };
}

const dirs = [await mkdtemp(join(tmpdir(), 'nanogrid-layers-a-')), await mkdtemp(join(tmpdir(), 'nanogrid-layers-b-'))];
const bare = await startOne(dirs[0], instant);
const real = await startOne(dirs[1], sandbox);
const floor = await startFloor();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
try {
  const fn =
    runtime === 'python'
      ? { name: 'layers', runtime: 'python3.11', code: PY, fileName: 'fn.py', handler: 'fn.handler' }
      : { name: 'layers', runtime: 'nodejs20.x', code: JS, fileName: 'fn.mjs', handler: 'fn.handler' };
  const bareFn = await new NanoGridClient({ url: bare.url }).deploy(fn);
  const realFn = await new NanoGridClient({ url: real.url }).deploy(fn);
  const rows = {
    floor: { url: floor.url, fid: 'floor', seen: [] },
    'host, instant sandbox': { url: bare.url, fid: bareFn.function_id, seen: [] },
    [`host, ${runtime} warm instance (${sandbox})`]: { url: real.url, fid: realFn.function_id, seen: [] },
  };
  for (let r = 0; r < rounds; r++)
    for (const row of Object.values(rows)) row.seen.push(await measure(row.url, row.fid, n));
  const floorP50 = median(rows.floor.seen.map((s) => s.p50));
  console.log(
    `one client, ${n} calls × ${rounds} rounds, medians (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
  );
  console.log(
    `${'row'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'× floor'.padStart(8)} ${'server CPU µs'.padStart(14)} ${'sleeps'.padStart(7)} ${'client CPU µs'.padStart(14)} ${'instance CPU µs'.padStart(16)}`,
  );
  for (const [name, row] of Object.entries(rows)) {
    const m = (k) => median(row.seen.map((s) => s[k]));
    console.log(
      `${name.padEnd(44)} ${m('p50').toFixed(3).padStart(8)} ${m('p95').toFixed(3).padStart(8)} ${(m('p50') / floorP50).toFixed(2).padStart(8)} ${m('cpuUs').toFixed(0).padStart(14)} ${m('sleeps').toFixed(2).padStart(7)} ${m('clientCpuUs').toFixed(0).padStart(14)} ${m('instanceCpuUs').toFixed(0).padStart(16)}`,
    );
  }
  console.log(
    'server CPU and sleeps: this process (both hosts and the floor live in it), per call of the row; instance CPU: ' +
      "the warm instances (their cgroups with Docker, this process's descendants otherwise), 10 ms ticks.",
  );
} finally {
  await floor.close();
  await bare.close();
  await real.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
process.exit(0);
