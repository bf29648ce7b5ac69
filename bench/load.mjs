// The bench's load generator, in its own process so the host's event loop
// serves requests only: `node bench/load.mjs <url> <function_id> <total> <clients> [--latency]`.
// Keep-alive node:http clients each send POST /run (sync) until `total` are
// done; prints {"perSec": …, "failed": …, "starts": {…}} on one line, and with
// `--latency` also {"median": ms, "p95": ms} of the calls (one client: the
// latency of a call alone, after 200 untimed calls). The floor rows point it at bench/floor-server.mjs.
// Raw node:http rather than @nanogrid/client (which bench/run.mjs uses): the
// generator shares the host's cores, so it keeps its own per-call cost minimal.
import http from 'node:http';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const withLatency = process.argv.includes('--latency');
const [url, functionId, totalArg, clientsArg] = args;
if (!url || !functionId) {
  console.error('usage: node bench/load.mjs <url> <function_id> <total> <clients> [--latency]');
  process.exit(2);
}
const total = Number(totalArg ?? 1000);
const clients = Number(clientsArg ?? 64);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const target = new URL('/run', url);
const body = JSON.stringify({ function_id: functionId, payload: {} });
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };

/** One sync invocation; resolves with the job record, rejects on a non-200 answer. */
function invoke() {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode === 200) resolve(JSON.parse(text));
          else reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// Warm-up (connections, JIT on both sides): not counted. A latency run times a steady state: its server's code is
// optimised by V8 only after some hundreds of calls, so it gets 200 untimed calls first (the floor the same).
const warmups = withLatency ? 200 : Math.min(clients, 20);
for (let i = 0; i < warmups; i++) await invoke().catch(() => undefined);

let next = 0;
let failed = 0;
const starts = {};
const ms = [];
const started = performance.now();
const cpu0 = process.cpuUsage();
await Promise.all(
  Array.from({ length: clients }, async () => {
    while (next < total) {
      next++;
      const t = performance.now();
      try {
        const job = await invoke();
        if (job.status !== 'completed') failed++;
        starts[job.start ?? 'none'] = (starts[job.start ?? 'none'] ?? 0) + 1;
        if (withLatency) ms.push(performance.now() - t);
      } catch (err) {
        failed++;
        if (failed <= 3) console.error(String(err));
      }
    }
  }),
);
const perSec = total / ((performance.now() - started) / 1000);
const cpu = process.cpuUsage(cpu0);
/** This generator's own CPU per call, µs: part of the floor's cost and of every row's. */
const cpuUsPerCall = (cpu.user + cpu.system) / total;
ms.sort((a, b) => a - b);
const pct = (p) => ms[Math.min(ms.length - 1, Math.max(0, Math.ceil((p / 100) * ms.length) - 1))];
console.log(
  JSON.stringify({ perSec, failed, starts, cpuUsPerCall, ...(withLatency ? { median: pct(50), p95: pct(95) } : {}) }),
);
agent.destroy();
