// The warm path against its floor, quickly, for profiling and iterating:
//   node [--cpu-prof] bench/warm-ratio.mjs [--sandbox=docker|process] [--store=memory|sqlite] [--n=3000] [--rounds=1]
// One host in this process (as bench/run.mjs runs it); the floor (bench/floor-server.mjs) in this process too; the
// load generator (bench/load.mjs) in its own. Prints latency (1 client) and throughput (64 clients) of both, the
// ratios, and the host's CPU per call (this process's CPU while the load ran).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { silentLogger } from '@nanogrid/core';
import { startHost } from '@nanogrid/host';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { startFloor } from './floor-server.mjs';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const sandbox = arg('sandbox', 'docker');
const store = arg('store', 'memory');
const n = Number(arg('n', '3000'));
const rounds = Number(arg('rounds', '1'));
// `--profile=out.cpuprofile`: a CPU profile of the host during the 64-client host run only.
const profile = arg('profile', undefined);
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

const dataDir = await mkdtemp(join(tmpdir(), 'nanogrid-ratio-'));
const host = await startHost({
  config: {
    dataDir,
    sandbox,
    http: { rateLimit: false, maxInflight: 100_000 },
    worker: { concurrency: 8, pollWaitMs: 1000 },
    warm: { enabled: true },
    embedded: { store },
  },
  port: 0,
  hostname: '127.0.0.1',
  handleSignals: false,
  logger: silentLogger,
  cwd: dataDir,
});
const floor = await startFloor();
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
  for (let r = 0; r < rounds; r++) {
    const fl = await load(floor.url, 'floor', 1000, 1, true);
    const hl = await load(host.url, fid, Math.max(300, n / 10), 1, true);
    const fcpu0 = process.cpuUsage();
    const ft = await load(floor.url, 'floor', n * 2, 64);
    const fcpu = process.cpuUsage(fcpu0);
    const session = profile ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const cpu0 = process.cpuUsage();
    const ht = await load(host.url, fid, n, 64);
    const cpu = process.cpuUsage(cpu0);
    if (session) {
      const { profile: p } = await session.post('Profiler.stop');
      await writeFile(profile, JSON.stringify(p));
      session.disconnect();
    }
    rows.push({
      floorP50: fl.median,
      hostP50: hl.median,
      hostP95: hl.p95,
      latencyRatio: hl.median / fl.median,
      floorPerSec: ft.perSec,
      hostPerSec: ht.perSec,
      throughputRatio: ht.perSec / ft.perSec,
      hostCpuUsPerCall: ((cpu.user + cpu.system) / n).toFixed(0),
      floorCpuUsPerCall: ((fcpu.user + fcpu.system) / (n * 2)).toFixed(0),
      starts: JSON.stringify(ht.starts),
    });
  }
  console.table(rows);
} finally {
  await floor.close();
  await host.close();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(0);
