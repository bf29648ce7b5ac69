// The warm path against its floor, quickly, for profiling and iterating:
//   node bench/warm-ratio.mjs [--sandbox=docker|process] [--store=memory|sqlite|redis] [--n=3000] [--rounds=1]
//                             [--stages] [--profile=out.cpuprofile]
// One host in this process (as bench/run.mjs runs it), the floor (bench/floor-server.mjs) in this process too, the
// load generator (bench/load.mjs) in its own. Prints latency (1 client) and throughput (64 clients) of both, the
// ratios, and CPU per call of the host and the floor server. `--stages` (Docker): CPU per call of each stage — the
// host's split by a CPU profile of its load phase (HTTP, queue, records, registry, pipe, GC), the instances (their
// cgroups), the load generator, dockerd+containerd, and the machine's busy total — median of the rounds.
// `--store=redis`: Redis queue + results on a redis-server of its own (its CPU per call is printed too).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { silentLogger } from '@nanogrid/core';
import { startHost } from '@nanogrid/host';
import { instancesCpuUs, machineCpuUs, pidsNamed, procCpuUs, stageShares } from './cpu-stages.mjs';
import { startFloor } from './floor-server.mjs';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const sandbox = arg('sandbox', 'docker');
const store = arg('store', 'memory');
const n = Number(arg('n', '3000'));
const rounds = Number(arg('rounds', '1'));
const profileFile = arg('profile', undefined);
const stages = process.argv.includes('--stages');
const PY = 'def handler(event, context):\n    return {"ok": True}\n';

async function load(url, fid, total, clients, latency) {
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
  if (r.failed > 0) throw new Error(`load: ${r.failed} of ${total} failed`);
  return r;
}

/** A redis-server of this run's own on a free port (`--store=redis`). */
async function startRedis() {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): port ${port} taken?`)));
    child.stdout.on('data', (c) => c.toString().includes('Ready to accept') && resolve());
  });
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill() };
}

const redis = store === 'redis' ? await startRedis() : undefined;
const stores = redis
  ? await import('@nanogrid/redis').then(({ redisQueue, redisResults }) => ({
      queue: redisQueue({ connection: redis.url, keyPrefix: 'ratio:' }),
      results: redisResults({ connection: redis.url, keyPrefix: 'ratio:' }),
    }))
  : { embedded: { store } };
const dataDir = await mkdtemp(join(tmpdir(), 'nanogrid-ratio-'));
const host = await startHost({
  config: {
    dataDir,
    sandbox,
    http: { rateLimit: false, maxInflight: 100_000 },
    worker: { concurrency: 8, pollWaitMs: 1000 },
    warm: { enabled: true },
    ...stores,
  },
  port: 0,
  hostname: '127.0.0.1',
  handleSignals: false,
  logger: silentLogger,
  cwd: dataDir,
});
const floor = await startFloor();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
try {
  const fn = await new NanoGridClient({ url: host.url }).deploy({
    name: 'ratio',
    runtime: 'python3.11',
    code: PY,
    fileName: 'fn.py',
    handler: 'fn.handler',
  });
  const fid = fn.function_id;
  const rows = [];
  const perCall = [];
  const engine = stages ? await pidsNamed('dockerd', 'containerd') : [];
  for (let r = 0; r < rounds; r++) {
    const fl = await load(floor.url, 'floor', 1000, 1, true);
    // `--profile-latency=out.cpuprofile`: the host's profile during the one-client run instead.
    const latencyProfile = arg('profile-latency', undefined);
    const ls = latencyProfile ? new Session() : undefined;
    if (ls) {
      ls.connect();
      await ls.post('Profiler.enable');
      // `--profile-interval=50`: µs between samples (V8's default is 1000: too coarse for a 1 ms call).
      await ls.post('Profiler.setSamplingInterval', { interval: Number(arg('profile-interval', '1000')) });
      await ls.post('Profiler.start');
    }
    const lcpu0 = process.cpuUsage();
    const hl = await load(host.url, fid, Math.max(300, n / 10), 1, true);
    const lcpu = process.cpuUsage(lcpu0);
    if (ls) {
      const { profile } = await ls.post('Profiler.stop');
      ls.disconnect();
      await writeFile(latencyProfile, JSON.stringify(profile));
      console.log(
        `host CPU per call, one client: ${((lcpu.user + lcpu.system) / Math.max(300, n / 10)).toFixed(0)} µs`,
      );
    }
    const fcpu0 = process.cpuUsage();
    const ft = await load(floor.url, 'floor', n * 2, 64);
    const fcpu = process.cpuUsage(fcpu0);
    const session = stages || profileFile ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const before = stages
      ? { inst: await instancesCpuUs(process.pid), engine: await procCpuUs(engine), machine: await machineCpuUs() }
      : undefined;
    const redis0 = redis ? await procCpuUs([redis.pid]) : 0;
    const cpu0 = process.cpuUsage();
    const ht = await load(host.url, fid, n, 64);
    const cpu = process.cpuUsage(cpu0);
    const redisUs = redis ? ((await procCpuUs([redis.pid])) - redis0) / n : undefined;
    const hostUs = (cpu.user + cpu.system) / n;
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      if (profileFile) await writeFile(profileFile, JSON.stringify(profile));
      if (before) {
        const machine = await machineCpuUs();
        const shares = stageShares(profile);
        perCall.push({
          ...Object.fromEntries(Object.entries(shares).map(([k, v]) => [`host ${k}`, v * hostUs])),
          'host total': hostUs,
          'runtime instances': ((await instancesCpuUs(process.pid)) - before.inst) / n,
          'load generator': ht.cpuUsPerCall,
          'dockerd + containerd (all)': ((await procCpuUs(engine)) - before.engine) / n,
          'machine busy (all)': (machine.busy - before.machine.busy) / n,
          'machine steal': (machine.steal - before.machine.steal) / n,
          'floor: server': (fcpu.user + fcpu.system) / (n * 2),
          'floor: load generator': ft.cpuUsPerCall,
        });
      }
    }
    rows.push({
      floorP50: fl.median.toFixed(3),
      hostP50: hl.median.toFixed(3),
      hostP95: hl.p95.toFixed(3),
      latencyRatio: (hl.median / fl.median).toFixed(2),
      floorPerSec: ft.perSec.toFixed(0),
      hostPerSec: ht.perSec.toFixed(0),
      throughputRatio: (ht.perSec / ft.perSec).toFixed(3),
      hostCpuUsPerCall: hostUs.toFixed(0),
      hostSysUsPerCall: (cpu.system / n).toFixed(0),
      floorCpuUsPerCall: ((fcpu.user + fcpu.system) / (n * 2)).toFixed(0),
      ...(redisUs === undefined ? {} : { redisCpuUsPerCall: redisUs.toFixed(0) }),
      starts: JSON.stringify(ht.starts),
    });
  }
  console.table(rows);
  if (perCall.length > 0) {
    console.log(
      `\nCPU per call, µs (median of ${perCall.length} rounds of ${n} calls, 64 clients, ${sandbox}, ${store})`,
    );
    for (const key of Object.keys(perCall[0]))
      console.log(
        `${key.padEnd(30)} ${median(perCall.map((p) => p[key] ?? 0))
          .toFixed(0)
          .padStart(7)}`,
      );
  }
} finally {
  await floor.close();
  await host.close();
  redis?.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(0);
