// The controller's HTTP layer alone, against the floor: `node bench/http-layer.mjs [--n=20000] [--rounds=3]`.
// The real controller app (createController) served as `nanogrid start` serves it, with a job service that
// answers at once (no queue, records or sandbox), so what is measured is node:http + routing + middleware +
// the /run handler. The load generator (bench/load.mjs) runs in its own process, 64 clients; the floor is
// bench/floor-server.mjs. Prints CPU per call of this process (µs) for both, alternating, and their medians.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import * as hostLib from '@nanogrid/host';
import { silentLogger } from '@nanogrid/core';
import { startFloor } from './floor-server.mjs';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const n = Number(arg('n', '20000'));
const rounds = Number(arg('rounds', '3'));

const fn = { function_id: 'fn-1', function_name: 'layer', version: 1, timeout: 30 };
let seq = 0;
const jobs = {
  async submit(_ref, payload) {
    const now = new Date().toISOString();
    const record = {
      job_id: `job-${++seq}`,
      function_id: fn.function_id,
      function_name: fn.function_name,
      function_version: 1,
      status: 'pending',
      payload,
      created_at: now,
      updated_at: now,
      output_files: [],
    };
    return { record, fn };
  },
  async wait(jobId) {
    const now = new Date().toISOString();
    return {
      job_id: jobId,
      function_id: fn.function_id,
      function_name: fn.function_name,
      function_version: 1,
      status: 'completed',
      result: { ok: true },
      output_files: [],
      execution_time_ms: 1,
      logs: '',
      created_at: now,
      updated_at: now,
      started_at: now,
      finished_at: now,
      attempts: 1,
      start: 'warm',
    };
  },
};

async function load(url, total) {
  const { stdout } = await run('node', [
    new URL('./load.mjs', import.meta.url).pathname,
    url,
    fn.function_id,
    String(total),
    '64',
  ]);
  const r = JSON.parse(stdout.trim().split('\n').at(-1));
  if (r.failed > 0) throw new Error(`load: ${r.failed} of ${total} failed`);
  return r;
}
async function cpuPerCall(url) {
  const c0 = process.cpuUsage();
  const r = await load(url, n);
  const c = process.cpuUsage(c0);
  return { us: (c.user + c.system) / n, perSec: r.perSec };
}

const deps = { registry: {}, jobs, storage: {}, http: { rateLimit: false }, logger: silentLogger };
// As `nanogrid start` serves it: the fast route first, then Hono's listener (a checkout from before the fast route
// has none: Hono's listener for every route).
const { app, fastRoute } = hostLib.createControllerHttp
  ? hostLib.createControllerHttp(deps)
  : { app: hostLib.createController(deps), fastRoute: undefined };
const { getRequestListener } = await import(
  new URL('../packages/host/node_modules/@hono/node-server/dist/index.mjs', import.meta.url)
);
const hono = getRequestListener(app.fetch);
const listener = (req, res) => {
  if (!fastRoute?.(req, res)) hono(req, res);
};
const server = createServer(listener);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const host = { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
const floor = await startFloor();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const rows = { floor: [], controller: [] };
for (let r = 0; r < rounds; r++) {
  rows.floor.push(await cpuPerCall(floor.url));
  rows.controller.push(await cpuPerCall(host.url));
}
console.table(
  Object.entries(rows).map(([k, v]) => ({
    server: k,
    cpuUsPerCall: median(v.map((x) => x.us)).toFixed(1),
    perSec: median(v.map((x) => x.perSec)).toFixed(0),
    rounds: v.map((x) => x.us.toFixed(0)).join(' '),
  })),
);
await floor.close();
await host.close();
process.exit(0);
