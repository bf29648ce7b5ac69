// What the load generator's CPU per call depends on: `node bench/floor-pace.mjs [--n=4000] [--rounds=3]
// [--delay-ms=50]`. The floor server (as bench/floor-server.mjs) answers either its own small record or one the size
// and shape of a host's `/run` answer (444 bytes: the same fields a completed warm job shows), either at once or
// after a timer, so the 64 clients are answered at about a host's pace (~1,200 calls/s) instead of the floor's.
// The generator (bench/load.mjs, its own process) prints its own CPU per call; this process's is the server's.
// Rounds alternate the four variants; medians. It answers why one generator spends more per NanoGrid call than per
// floor call: if the pace moves it and the answer's size does not, the difference is the pace (fewer answers per
// wake-up of its event loop), not the bytes.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const n = Number(arg('n', '4000'));
const rounds = Number(arg('rounds', '3'));
const delayMs = Number(arg('delay-ms', '50'));

const now = () => new Date().toISOString();
const small = (id) =>
  JSON.stringify({
    job_id: id,
    function_id: 'floor',
    function_name: 'floor',
    function_version: 1,
    status: 'completed',
    created_at: now(),
    updated_at: now(),
    result: { ok: true },
    output_files: [],
    start: 'warm',
  });
/** A host's answer to a warm `/run` of a function returning {"ok": true}: same fields, same lengths. */
const hostSized = (id) =>
  JSON.stringify({
    job_id: `${id.padStart(8, '0')}-1ebb-4e99-be2c-c2158e712390`,
    function_id: '0cb67cf9-72ee-5183-ac4f-206e21b1200b',
    function_name: 'p',
    function_version: 1,
    status: 'completed',
    result: { ok: true },
    output_files: [],
    execution_time_ms: 0,
    logs: '',
    created_at: now(),
    updated_at: now(),
    started_at: now(),
    finished_at: now(),
    attempts: 1,
    worker: 'vm:27751',
    start: 'warm',
  });

function serve(answer, delay) {
  let seq = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString());
      const reply = () => {
        const body = answer(String(++seq));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (delay > 0) setTimeout(reply, delay);
      else reply();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }),
    ),
  );
}

const variants = [
  ['floor answer, at once', small, 0],
  ['host-sized answer, at once', hostSized, 0],
  [`floor answer, after ${delayMs} ms`, small, delayMs],
  [`host-sized answer, after ${delayMs} ms`, hostSized, delayMs],
];
const rows = new Map(variants.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, answer, delay] of variants) {
    const s = await serve(answer, delay);
    const c0 = process.cpuUsage();
    const { stdout } = await run('node', [
      new URL('./load.mjs', import.meta.url).pathname,
      s.url,
      'x',
      String(n),
      '64',
    ]);
    const c = process.cpuUsage(c0);
    const out = JSON.parse(stdout.trim().split('\n').at(-1));
    rows.get(name).push({ gen: out.cpuUsPerCall, server: (c.user + c.system) / n, perSec: out.perSec });
    s.close();
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.table(
  [...rows].map(([name, v]) => ({
    variant: name,
    'generator µs/call': median(v.map((x) => x.gen)).toFixed(0),
    'server µs/call': median(v.map((x) => x.server)).toFixed(0),
    'calls/s': median(v.map((x) => x.perSec)).toFixed(0),
  })),
);
process.exit(0);
