// The host's engine without a sandbox, against the floor: `node bench/engine-layer.mjs [--store=memory|sqlite]
// [--n=10000] [--rounds=3] [--delay-ms=4]`. A whole host (startHost: HTTP, job service, records, queue, worker, executor, the
// warm path's bookkeeping) whose sandbox answers every warm call at once from memory, so the CPU measured is the
// host's own per call and not the runtime's, Docker's or the instance's: far steadier on a shared machine than
// bench/warm-ratio.mjs. 64 clients (bench/load.mjs, its own process); the floor is bench/floor-server.mjs.
// Prints CPU per call of this process (µs) and calls per second, alternating floor and host, with medians.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { silentLogger } from '@nanogrid/core';
import { startHost } from '@nanogrid/host';
import { startBenchHost } from './bench-host.mjs';
import { startFloor } from './floor-server.mjs';
import { instantSandbox } from './instant-sandbox.mjs';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const n = Number(arg('n', '10000'));
const rounds = Number(arg('rounds', '3'));
const store = arg('store', 'memory');
const clients = arg('clients', '64');
// How long each warm call takes (ms, a timer): long enough that the worker's 8 run slots are all busy under 64
// clients, as with a real instance, so calls also take the path of a host with no free slot. 0: at once.
const delayMs = Number(arg('delay-ms', '4'));

const instant = instantSandbox('engine-layer', delayMs);

const { host, close } = await startBenchHost({
  startHost,
  logger: silentLogger,
  prefix: 'nanogrid-engine-layer',
  config: {
    sandbox: instant,
    http: { rateLimit: false, maxInflight: 100_000 },
    worker: { concurrency: 8, pollWaitMs: 1000 },
    warm: { enabled: true },
    embedded: { store },
  },
});
const floor = await startFloor();
async function cpuPerCall(url, fid) {
  const c0 = process.cpuUsage();
  const { stdout } = await run('node', [new URL('./load.mjs', import.meta.url).pathname, url, fid, String(n), clients]);
  const c = process.cpuUsage(c0);
  const r = JSON.parse(stdout.trim().split('\n').at(-1));
  if (r.failed > 0) throw new Error(`load: ${r.failed} of ${n} failed`);
  return { us: (c.user + c.system) / n, perSec: r.perSec };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
try {
  const fn = await new NanoGridClient({ url: host.url }).deploy({
    name: 'engine-layer',
    runtime: 'python3.11',
    code: 'def handler(event, context):\n    return {"ok": True}\n',
    fileName: 'fn.py',
    handler: 'fn.handler',
  });
  const rows = { floor: [], host: [] };
  for (let r = 0; r < rounds; r++) {
    rows.floor.push(await cpuPerCall(floor.url, 'floor'));
    rows.host.push(await cpuPerCall(host.url, fn.function_id));
  }
  console.table(
    Object.entries(rows).map(([k, v]) => ({
      server: k,
      store,
      cpuUsPerCall: median(v.map((x) => x.us)).toFixed(1),
      perSec: median(v.map((x) => x.perSec)).toFixed(0),
      rounds: v.map((x) => x.us.toFixed(0)).join(' '),
    })),
  );
} finally {
  await floor.close();
  await close();
}
process.exit(0);
