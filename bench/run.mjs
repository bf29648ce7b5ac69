// NanoGrid benchmarks: latency of sync invocations over HTTP, first invocations,
// throughput with 64 clients, against the original design's baseline (a fresh
// container per job) and the floors (a bare `docker run`, a warm process round trip),
// all measured in this run. `npm run bench` (add `-- --quick` for fewer samples).
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { silentLogger } from '@nanogrid/core';
import { detectDocker } from '@nanogrid/sandbox-docker';
import { startHost } from '@nanogrid/host';
import { redisQueue, redisResults } from '@nanogrid/redis';
import { startBenchHost } from './bench-host.mjs';
import { procCpuUs } from './cpu-stages.mjs';
import { startFloor } from './floor-server.mjs';
import { startProcessesHost } from './processes.mjs';
import { startCallClient } from './call-client.mjs';
import { printTable, printTargets, sample, throughput } from './stats.mjs';

const quick = process.argv.includes('--quick');
// `--embedded-only`: just the warm throughput rows of the two embedded stores (memory vs SQLite; `--rounds=N`).
const embeddedOnly = process.argv.includes('--embedded-only');
// `--processes-only`: just the rows of `nanogrid start --processes 1` and `2` on Redis (`--rounds=N`).
const processesOnly = process.argv.includes('--processes-only');
// `--latency-only`: just the warm latency rows beside their floors (`--rounds=N`: floor and row alternated N times).
const latencyOnly = process.argv.includes('--latency-only');
// Rounds of the alternated rows (embedded stores, --processes, warm latency); each row reports its median.
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 1);
const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const N = quick ? 10 : 30;
const run = promisify(execFile);
const PY = 'def handler(event, context):\n    return {"ok": True}\n';
const JS = 'export async function handler(event) { return { ok: true }; }\n';

async function withHost(config, fn) {
  const { host, close } = await startBenchHost({
    startHost,
    logger: silentLogger,
    prefix: 'nanogrid-bench',
    config: {
      http: { rateLimit: false, maxInflight: 100_000 },
      worker: { concurrency: 8, pollWaitMs: 1000 },
      // The rows name their store; "embedded queue" is the in-memory one unless a row says SQLite.
      embedded: { store: 'memory' },
      ...config,
    },
  });
  try {
    return await fn(host.url);
  } finally {
    await close();
  }
}

const apiClients = new Map();
/** One @nanogrid/client per host URL. */
const api = (url) => apiClients.get(url) ?? apiClients.set(url, new NanoGridClient({ url })).get(url);

async function deploy(url, name, runtime, file, source) {
  const fn = await api(url).deploy({
    name,
    runtime,
    code: source,
    fileName: file,
    handler: `${file.replace(/\.\w+$/, '')}.handler`,
  });
  return fn.function_id;
}

/** bench/load.mjs in its own process (clients and host do not share an event loop): { perSec, median?, p95? }. */
async function loadStats(url, fid, total, clients, latency = false) {
  const { stdout } = await run(
    'node',
    [
      new URL('./load.mjs', import.meta.url).pathname,
      url,
      fid,
      String(total),
      String(clients),
      ...(latency ? ['--latency'] : []),
    ],
    { maxBuffer: 1 << 20 },
  );
  const r = JSON.parse(stdout.trim().split('\n').at(-1));
  if (r.failed > 0) throw new Error(`load: ${r.failed} of ${total} invocations failed`);
  return r;
}

/** Throughput measured by bench/load.mjs. */
const loadRun = async (url, fid, total, clients) => (await loadStats(url, fid, total, clients)).perSec;

/**
 * The floor of an HTTP row, measured just before it: a bare node:http server in this process (where the host
 * runs) answering JSON to the same load generator. Latency with one client, or throughput with `clients`.
 */
async function floorOf(total, clients) {
  const floor = await startFloor();
  try {
    return await loadStats(floor.url, 'floor', total, clients, clients === 1);
  } finally {
    await floor.close();
  }
}
/** Each target of issue 16 beside the floor measured next to it. */
const targets = [];

async function invoke(url, fid) {
  const job = await api(url).run(fid, {});
  if (job.status !== 'completed') throw new Error(`run: ${job.status} ${JSON.stringify(job.error ?? job)}`);
  return job;
}

/**
 * A first call's wall time, timed by bench/call-client.mjs: the warm rows' keep-alive node:http client, in its own
 * process (the host runs in this one). `start`: the start the job must report (a first call must not be warm).
 */
async function firstCall(client, fid, start) {
  const { ms, job } = await client.call(fid);
  if (job.status !== 'completed' || (start && job.start !== start)) throw new Error(`run: ${JSON.stringify(job)}`);
  return ms;
}

/** A python process kept running, echoing lines: the floor of any warm invocation. */
async function warmProcessRoundTrip(n) {
  const child = spawn('python3', ['-u', '-c', 'import sys\nfor line in sys.stdin:\n    sys.stdout.write(line)\n'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let pending;
  child.stdout.on('data', () => pending?.());
  const once = () =>
    new Promise((resolve) => {
      pending = resolve;
      child.stdin.write('{"ok":true}\n');
    });
  const r = await sample(n, once, 20);
  child.kill();
  return r;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (c) => c.toString().includes('Ready to accept') && resolve());
  });
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill() };
}

const docker = await detectDocker({ timeoutMs: 2000 });
const latency = [];
const first = [];
const rates = [];
/** Host CPU per call (ms, in the "median" column) of the embedded-store rows. */
const hostCpu = [];

console.log(
  `NanoGrid bench ${new Date().toISOString()} — ${quick ? 'quick' : 'full'} run; Docker engine: ${docker ? 'yes' : 'no (Docker rows left out)'}`,
);

// --- Baselines and floors
if (docker && !embeddedOnly && !processesOnly && !latencyOnly) {
  latency.push({
    name: 'baseline: fresh container per job (docker run python3 -c)',
    ...(await sample(
      Math.min(N, 10),
      () =>
        run('docker', [
          'run',
          '--rm',
          '--network',
          'none',
          'nanogrid/python:3',
          'python3',
          '-c',
          'print(\'{"ok": true}\')',
        ]),
      1,
    )),
  });
  latency.push({
    name: 'floor: bare docker run (true)',
    ...(await sample(
      Math.min(N, 10),
      () => run('docker', ['run', '--rm', '--network', 'none', 'nanogrid/python:3', 'true']),
      1,
    )),
  });
}
if (!embeddedOnly && !processesOnly) {
  latency.push({
    name: 'floor: round trip to a warm python process',
    ...(await warmProcessRoundTrip(quick ? 500 : 2000)),
  });
  const { median, p95 } = await floorOf(N * 30, 1);
  latency.push({ name: 'floor: bare node:http server, JSON, keep-alive client', n: N * 30, median, p95 });
}

// --- Sync invocations over HTTP, repeated on one function
const setups =
  embeddedOnly || processesOnly
    ? []
    : [
        ...(latencyOnly ? [] : [['process', false]]),
        ['process', true],
        ...(docker ? [...(latencyOnly ? [] : [['docker', false]]), ['docker', true]] : []),
      ];
for (const [sandbox, warm] of setups) {
  await withHost({ sandbox, warm: { enabled: warm } }, async (url) => {
    const mode = warm ? 'warm instances' : 'a fresh run per call';
    for (const [lang, runtime, file, src] of [
      ['python', 'python3.11', 'fn.py', PY],
      ['node', 'nodejs20.x', 'fn.mjs', JS],
    ]) {
      const fid = await deploy(url, `${lang}-${sandbox}`, runtime, file, src);
      if (!warm) {
        latency.push({
          name: `sync over HTTP, ${lang}, ${sandbox}, ${mode}`,
          ...(await sample(N, () => invoke(url, fid), 2)),
        });
        continue;
      }
      // Warm rows: the load generator's keep-alive node:http client, one call at a time, beside its floor.
      const seen = { floor: [], p50: [], p95: [], ratio: [] };
      for (let round = 0; round < rounds; round++) {
        // As many calls as the floor's, each after the load generator's untimed warm-up.
        const floor = await floorOf(N * 30, 1);
        const r = await loadStats(url, fid, N * 30, 1, true);
        seen.floor.push(floor.median);
        seen.p50.push(r.median);
        seen.p95.push(r.p95);
        seen.ratio.push(r.median / floor.median);
      }
      const name = `sync over HTTP, ${lang}, ${sandbox}, ${mode}`;
      latency.push({ name, n: N * 30 * rounds, median: medianOf(seen.p50), p95: medianOf(seen.p95) });
      targets.push({
        name: `${name}, p50`,
        value: medianOf(seen.p50),
        floor: medianOf(seen.floor),
        ratio: medianOf(seen.ratio),
        unit: 'ms',
        max: 3,
      });
    }
    if (sandbox === 'docker' && !warm) {
      // A function no worker has seen: deploy, then time its first call.
      const times = [];
      const client = await startCallClient(url);
      try {
        for (let i = 0; i < Math.min(N, 10); i++) {
          const fid = await deploy(url, `new-${i}`, 'python3.11', 'fn.py', `${PY}# ${i}\n`);
          times.push(await firstCall(client, fid));
        }
      } finally {
        await client.close();
      }
      times.sort((a, b) => a - b);
      first.push({
        name: 'first call of a new python function, docker sandbox',
        n: times.length,
        median: times[Math.floor(times.length / 2)],
        p95: times[Math.ceil(times.length * 0.95) - 1],
      });
    }
  });
}
if (docker && !embeddedOnly) {
  // The floor again, right beside the rows it is compared with (this machine's load drifts over a run).
  first.unshift({
    name: 'floor: bare docker run (true)',
    ...(await sample(
      Math.min(N, 10),
      () => run('docker', ['run', '--rm', '--network', 'none', 'nanogrid/python:3', 'true']),
      1,
    )),
  });
  // The same, with a prewarmed pool: each first call takes a spare (a generic container that loaded the runtime),
  // refilled once that call is over. Issue 16's target: ≥ 30× faster than the bare `docker run` floor.
  await withHost({ sandbox: 'docker', warm: { enabled: true, prewarm: { python: 2, node: 2 } } }, async (url) => {
    for (const [lang, runtime, file, src, comment] of [
      ['python', 'python3.11', 'fn.py', PY, '#'],
      ['node', 'nodejs20.x', 'fn.mjs', JS, '//'],
    ]) {
      const times = [];
      const client = await startCallClient(url);
      try {
        for (let i = 0; i < Math.min(N, 10); i++) {
          const fid = await deploy(url, `pre-${lang}-${i}`, runtime, file, `${src}${comment} prewarmed ${i}\n`);
          await new Promise((r) => setTimeout(r, 600)); // let the refill finish: steady state, not a burst
          times.push(await firstCall(client, fid, 'prewarmed'));
        }
      } finally {
        await client.close();
      }
      times.sort((a, b) => a - b);
      const row = {
        name: `first call of a never-seen ${lang} function, prewarmed pool`,
        n: times.length,
        median: times[Math.floor(times.length / 2)],
        p95: times[Math.ceil(times.length * 0.95) - 1],
      };
      first.push(row);
      // Here the floor is the bare `docker run` beside it, and the ratio is how many times faster.
      const floor = first.find((r) => r.name === 'floor: bare docker run (true)');
      targets.push({
        name: `${row.name}, p50 (floor: bare docker run)`,
        value: row.median,
        floor: floor.median,
        ratio: floor.median / row.median,
        unit: 'ms',
        min: 30,
      });
    }
  });
}

// --- Throughput, 64 clients
const clients = 64;
const total = quick ? 200 : 600;
if (docker && !embeddedOnly && !processesOnly && !latencyOnly) {
  const perSec = await throughput(8, quick ? 16 : 32, () =>
    run('docker', ['run', '--rm', '--network', 'none', 'nanogrid/python:3', 'python3', '-c', 'print(1)']),
  );
  rates.push({ name: 'baseline: fresh container per job, 8 at once', n: quick ? 16 : 32, perSec });
}
if (!embeddedOnly && !processesOnly && !latencyOnly) {
  await withHost({ sandbox: 'process', warm: { enabled: false } }, async (url) => {
    const fid = await deploy(url, 'tp', 'python3.11', 'fn.py', PY);
    rates.push({
      name: `embedded queue, process sandbox, a fresh run per call, ${clients} clients`,
      n: total,
      perSec: await loadRun(url, fid, total, clients),
    });
  });
}
// The warm path on both embedded stores, side by side: memory (the ceiling) and SQLite (the default).
// `--rounds=N` alternates them N times and keeps each one's median (a loaded machine drifts between rows).
for (const sandbox of processesOnly || latencyOnly ? [] : docker ? ['process', 'docker'] : ['process']) {
  const seen = { memory: { perSec: [], cpuMs: [], floor: [] }, sqlite: { perSec: [], cpuMs: [], floor: [] } };
  const n = quick ? 1000 : 5000;
  for (let round = 0; round < rounds; round++) {
    for (const store of ['memory', 'sqlite']) {
      await withHost(
        { sandbox, warm: { enabled: true }, worker: { concurrency: 8, pollWaitMs: 1000 }, embedded: { store } },
        async (url) => {
          const fid = await deploy(url, `tp-${sandbox}-${store}`, 'python3.11', 'fn.py', PY);
          await invoke(url, fid);
          // The host runs in this process (the load and the instances in others): its CPU per call is what a store adds to.
          seen[store].floor.push((await floorOf(n * 2, clients)).perSec);
          const cpu0 = process.cpuUsage();
          seen[store].perSec.push(await loadRun(url, fid, n, clients));
          const cpu = process.cpuUsage(cpu0);
          seen[store].cpuMs.push((cpu.user + cpu.system) / 1000 / n);
        },
      );
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  for (const store of ['memory', 'sqlite']) {
    const name = `embedded queue${store === 'sqlite' ? ' (SQLite)' : ''}, ${sandbox} warm instances, ${clients} clients`;
    rates.push({ name, n: n * rounds, perSec: median(seen[store].perSec) });
    hostCpu.push({ name, n: n * rounds, median: median(seen[store].cpuMs) });
    const ratios = seen[store].perSec.map((x, i) => x / seen[store].floor[i]);
    targets.push({
      name,
      value: median(seen[store].perSec),
      floor: median(seen[store].floor),
      ratio: median(ratios),
      unit: '/s',
      min: 0.5,
    });
  }
}
let redis;
try {
  redis = embeddedOnly || latencyOnly ? undefined : await startRedis();
} catch {
  console.log('(redis-server not installed: the Redis row is left out)');
}
if (redis) {
  try {
    for (const sandbox of processesOnly ? [] : docker ? ['process', 'docker'] : ['process']) {
      const prefix = `bench-${sandbox}-${Date.now()}:`;
      await withHost(
        {
          sandbox,
          warm: { enabled: true },
          queue: redisQueue({ connection: redis.url, keyPrefix: prefix }),
          results: redisResults({ connection: redis.url, keyPrefix: prefix }),
        },
        async (url) => {
          const fid = await deploy(url, 'tpr', 'python3.11', 'fn.py', PY);
          await invoke(url, fid);
          const n = quick ? 1000 : 5000;
          const floor = (await floorOf(n * 2, clients)).perSec;
          const name = `Redis queue + results, ${sandbox} warm instances, ${clients} clients`;
          const perSec = await loadRun(url, fid, n, clients);
          rates.push({ name, n, perSec });
          targets.push({ name, value: perSec, floor, unit: '/s', min: 0.3 });
        },
      );
    }
    // The host scales with cores: `nanogrid start --processes 1` and `2` (the CLI, node:cluster) on Redis, alternated.
    const seen = {};
    const sandbox = docker ? 'docker' : 'process';
    const n = quick ? 1000 : 5000;
    const redisPid = redis.pid;
    for (let round = 0; round < rounds; round++) {
      for (const processes of [1, 2]) {
        const host = await startProcessesHost({ processes, redisUrl: redis.url, sandbox });
        try {
          const fid = await deploy(host.url, `tpp-${processes}-${round}`, 'python3.11', 'fn.py', PY);
          await invoke(host.url, fid);
          await loadRun(host.url, fid, 200, clients); // every process's warm instances up
          const floor = (await floorOf(n * 2, clients)).perSec;
          const [cpu0, redis0] = [await host.cpuUs(), await procCpuUs([redisPid])];
          const perSec = await loadRun(host.url, fid, n, clients);
          const [cpu1, redis1] = [await host.cpuUs(), await procCpuUs([redisPid])];
          const s = (seen[processes] ??= { perSec: [], floor: [], cpu: [], redis: [] });
          s.perSec.push(perSec);
          s.floor.push(floor);
          s.cpu.push((cpu1 - cpu0) / n / 1000);
          s.redis.push((redis1 - redis0) / n / 1000);
        } finally {
          await host.stop();
        }
      }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    for (const processes of [1, 2]) {
      const s = seen[processes];
      const name = `Redis, ${sandbox} warm, nanogrid start --processes ${processes}, ${clients} clients`;
      rates.push({ name, n: n * rounds, perSec: median(s.perSec) });
      hostCpu.push({ name: `${name} (host processes)`, n: n * rounds, median: median(s.cpu) });
      hostCpu.push({ name: `${name} (redis-server)`, n: n * rounds, median: median(s.redis) });
      const ratios = s.perSec.map((x, i) => x / s.floor[i]);
      targets.push({
        name,
        value: median(s.perSec),
        floor: median(s.floor),
        ratio: median(ratios),
        unit: '/s',
        min: 0.3,
      });
    }
  } finally {
    redis.stop();
  }
}

if (latencyOnly) {
  printTable('Latency of one invocation', latency, 'floor: bare node:http server, JSON, keep-alive client');
  printTargets(targets);
  process.exit(0);
}
if (embeddedOnly || processesOnly) {
  printTargets(targets);
  printTable(
    'Throughput (invocations per second)',
    rates,
    `embedded queue, process warm instances, ${clients} clients`,
  );
  printTable(
    'Host CPU per call (ms of the host process, in the median column; lower is better)',
    hostCpu,
    `embedded queue, process warm instances, ${clients} clients`,
    { cost: true },
  );
  process.exit(0);
}
printTable('Latency of one invocation', latency, 'baseline: fresh container per job (docker run python3 -c)');
printTable('First invocation of a function no worker has seen', first, 'floor: bare docker run (true)');
printTable('Throughput (invocations per second)', rates, 'baseline: fresh container per job, 8 at once');
printTable(
  'Host CPU per call (ms, in the median column; lower is better)',
  hostCpu,
  `embedded queue, process warm instances, ${clients} clients`,
  { cost: true },
);
printTargets(targets);
process.exit(0);
