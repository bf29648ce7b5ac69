// One sync call at a time, timed by a keep-alive node:http client in its own process: the same client as the warm
// rows' load generator (bench/load.mjs), so a first call and a warm call are measured alike, and the client's own
// work does not run on the event loop of a host that lives in the bench's process (@nanogrid/client's fetch cost
// ~2.5 ms of a first call there, most of it on the host's thread).
//
// As a module: `const client = await startCallClient(url); const { ms, job } = await client.call(fid);`.
// As a process (`node bench/call-client.mjs <url>`): reads a function id per stdin line, answers one JSON line
// `{ "ms": …, "status": …, "job": {…} }` per call.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';

const self = new URL(import.meta.url).pathname;

/** Starts the client process and opens its connection (a `GET /health`, not counted). */
export async function startCallClient(url) {
  const child = spawn(process.execPath, [self, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.resolve(JSON.parse(line)));
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`call client exited (${code})`));
  });
  const ask = (line) =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      child.stdin.write(`${line}\n`);
    });
  const ready = await ask('');
  if (ready.status !== 200) throw new Error(`call client: GET /health answered ${ready.status}`);
  return {
    /** One `POST /run`; `ms` is the client's wall time from the request to the whole answer. */
    async call(functionId) {
      const r = await ask(functionId);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.job).slice(0, 300)}`);
      return r;
    },
    close: () => {
      child.stdin.end();
      return new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function request(agent, target, method, body) {
  const headers = body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {};
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: target.hostname, port: target.port, path: target.pathname, method, agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function serveCalls(url) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for await (const line of createInterface({ input: process.stdin })) {
    const fid = line.trim();
    const t = performance.now();
    const r = fid
      ? await request(agent, new URL('/run', url), 'POST', JSON.stringify({ function_id: fid, payload: {} }))
      : await request(agent, new URL('/health', url), 'GET');
    const ms = performance.now() - t;
    let job;
    try {
      job = JSON.parse(r.text);
    } catch {
      job = r.text;
    }
    process.stdout.write(`${JSON.stringify({ ms, status: r.status, job })}\n`);
  }
  agent.destroy();
}

if (process.argv[1] === self) await serveCalls(process.argv[2]);
