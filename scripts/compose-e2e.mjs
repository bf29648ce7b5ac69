// The checks of scripts/compose-e2e.sh (run that: it builds the images first).
// Brings docker-compose.yml up under a project name of its own, on free loopback
// ports, then: deploys, runs sync through controller-1 and async through
// controller-2, SIGKILLs worker-1's container mid-job (the job completes on
// worker-2), restarts worker-1 (it removes what the killed one left), and takes
// everything down (down -v), checking nothing of the project is left behind.
// Exits 1 on any failure, with what failed and the services' last log lines.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const compose = (process.env.NANOGRID_COMPOSE ?? 'docker-compose').split(' ');
const project = process.env.NANOGRID_E2E_PROJECT ?? `nanogrid-e2e-${process.pid}`;
const SERVICES = ['controller-1', 'controller-2', 'worker-1', 'worker-2', 'redis', 's3', 'sqs'];
const VISIBILITY_SEC = 10;
// A long poll still open when its worker stops or dies takes the next message all the same
// (SQS does too): polls of at most 2 s are over before the drill's job is visible again.
const WAIT_SEC = 2;

const ECHO_PY = 'def handler(event, context):\n    return {"i": event["i"]}\n';
const SLEEPY_PY = 'import time\n\ndef handler(event, context):\n    time.sleep(8)\n    return {"slept": True}\n';

const say = (msg) => console.log(`compose-e2e: ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

let passed = 0;
let failed = 0;
const timings = [];

/** One named check: passes, or stops the run with its message. */
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    passed++;
    timings.push([name, Date.now() - t0]);
    say(`ok   ${name} (${secs(Date.now() - t0)})${note ? ` — ${note}` : ''}`);
  } catch (err) {
    failed++;
    say(`FAIL ${name} (${secs(Date.now() - t0)}): ${err.message}`);
    throw err;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const ports = [await freePort(), await freePort()];
const env = {
  ...process.env,
  COMPOSE_PROJECT_NAME: project,
  NANOGRID_BIND: '127.0.0.1',
  NANOGRID_CONTROLLER1_PORT: String(ports[0]),
  NANOGRID_CONTROLLER2_PORT: String(ports[1]),
  NANOGRID_SQS_VISIBILITY_SEC: String(VISIBILITY_SEC),
  NANOGRID_SQS_WAIT_SEC: String(WAIT_SEC),
};
const c1 = `http://127.0.0.1:${ports[0]}`;
const c2 = `http://127.0.0.1:${ports[1]}`;

async function dc(args, timeoutMs = 300_000) {
  try {
    const { stdout } = await run(compose[0], [...compose.slice(1), ...args], {
      cwd: repo,
      env,
      timeout: timeoutMs,
      maxBuffer: 64 << 20,
    });
    return stdout;
  } catch (err) {
    throw new Error(
      `${compose.join(' ')} ${args.join(' ')} failed: ${(err.stderr || err.message).trim().split('\n').slice(-8).join('\n')}`,
    );
  }
}

async function docker(args, timeoutMs = 60_000) {
  const { stdout } = await run('docker', args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout.trim();
}

/** Container id of a service ('' when it has none). */
const containerOf = async (service) => (await dc(['ps', '-q', service])).trim();

async function healthOf(ids) {
  if (ids.length === 0) return [];
  const out = await docker([
    'inspect',
    '--format',
    '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}',
    ...ids,
  ]);
  return out.split('\n').map((line) => line.trim().split(' '));
}

/** Waits until every named service runs and reports healthy. */
async function waitHealthy(services, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = [];
  while (Date.now() < deadline) {
    const ids = (await Promise.all(services.map(containerOf))).filter(Boolean);
    last = await healthOf(ids);
    if (
      ids.length === services.length &&
      last.every(([, state, health]) => state === 'running' && health === 'healthy')
    )
      return;
    await sleep(1000);
  }
  throw new Error(`not healthy within ${secs(timeoutMs)}: ${last.map((s) => s.join(' ')).join(', ')}`);
}

async function http(method, url, { body, form, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (form) init.body = form;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(120_000) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function deploy(base, name, source) {
  const form = new FormData();
  form.append('file', new Blob([source]), `${name}.py`);
  form.append('function_name', name);
  form.append('runtime', 'python3.11');
  form.append('handler', `${name}.handler`);
  form.append('timeout', '60');
  const res = await http('POST', `${base}/upload`, { form });
  if (res.status !== 201) throw new Error(`upload of ${name} answered ${res.status}: ${res.text}`);
  return res.json.function_id;
}

async function submit(base, functionId, payload) {
  const res = await http('POST', `${base}/run`, {
    body: { function_id: functionId, payload },
    headers: { 'x-async': 'true' },
  });
  if (res.status !== 202) throw new Error(`async /run answered ${res.status}: ${res.text}`);
  return res.json.job_id;
}

/** Polls GET /status until `until(job)` holds. */
async function poll(base, jobId, until, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let job;
  while (Date.now() < deadline) {
    const res = await http('GET', `${base}/status/${jobId}`);
    if (res.status !== 200) throw new Error(`GET /status/${jobId} answered ${res.status}: ${res.text}`);
    job = res.json;
    if (until(job)) return job;
    await sleep(250);
  }
  throw new Error(`job ${jobId} not ${what} within ${secs(timeoutMs)}; last: ${JSON.stringify(job)}`);
}

const isFinal = (job) => job.status === 'completed' || job.status === 'failed';
const hostnameOf = async (id) => docker(['inspect', '--format', '{{.Config.Hostname}}', id]);

function expectJob(job, want) {
  for (const [k, v] of Object.entries(want)) {
    if (JSON.stringify(job[k]) !== JSON.stringify(v))
      throw new Error(`expected ${k}=${JSON.stringify(v)}, got ${JSON.stringify(job)}`);
  }
}

/** Run containers that a worker of this project started (label nanogrid.host = its hostname). */
async function runContainersOf(hostnames, all = true) {
  const ids = [];
  for (const h of hostnames) {
    const out = await docker([
      'ps',
      ...(all ? ['-a'] : []),
      '-q',
      '--filter',
      'label=nanogrid=1',
      '--filter',
      `label=nanogrid.host=${h}`,
    ]);
    if (out) ids.push(...out.split('\n'));
  }
  return ids;
}

const workerHosts = new Set();
let up = false;

async function dumpLogs() {
  try {
    say(`state:\n${await dc(['ps'], 30_000)}`);
    say(`last log lines:\n${await dc(['logs', '--no-color', '--tail', '25'], 60_000)}`);
  } catch (err) {
    say(`could not read the logs: ${err.message}`);
  }
}

async function teardown() {
  if (!up) return;
  up = false;
  await check('down -v leaves nothing of the project behind', async () => {
    await dc(['down', '-v', '--remove-orphans', '--timeout', '60'], 180_000);
    const label = `label=com.docker.compose.project=${project}`;
    const containers = await docker(['ps', '-a', '-q', '--filter', label]);
    const volumes = await docker(['volume', 'ls', '-q', '--filter', label]);
    const networks = await docker(['network', 'ls', '-q', '--filter', label]);
    const runs = await runContainersOf([...workerHosts]);
    if (runs.length > 0) await docker(['rm', '-f', '-v', ...runs]).catch(() => undefined);
    const left = [
      containers && `containers ${containers.split('\n').join(' ')}`,
      volumes && `volumes ${volumes.split('\n').join(' ')}`,
      networks && `networks ${networks.split('\n').join(' ')}`,
      runs.length > 0 && `function containers of its workers ${runs.join(' ')} (removed now)`,
    ].filter(Boolean);
    if (left.length > 0) throw new Error(`left behind: ${left.join('; ')}`);
  });
}

async function main() {
  say(`project ${project}, controllers on ${c1} and ${c2}, compose: ${compose.join(' ')}`);
  up = true;
  await check('docker-compose up -d', () => dc(['up', '-d'], 300_000));
  await check('all 7 services healthy', () => waitHealthy(SERVICES, 240_000));
  for (const service of ['worker-1', 'worker-2']) workerHosts.add(await hostnameOf(await containerOf(service)));

  let echo;
  let sleepy;
  await check('deploy through controller-1 and controller-2', async () => {
    echo = await deploy(c1, 'echo', ECHO_PY);
    sleepy = await deploy(c2, 'sleepy', SLEEPY_PY);
    const listed = await http('GET', `${c2}/functions/${echo}`);
    if (listed.status !== 200)
      throw new Error(`controller-2 does not see the function controller-1 stored: ${listed.status} ${listed.text}`);
  });

  await check('sync run through controller-1', async () => {
    const res = await http('POST', `${c1}/run`, { body: { function_id: echo, payload: { i: 1 } } });
    if (res.status !== 200) throw new Error(`sync /run answered ${res.status}: ${res.text}`);
    expectJob(res.json, { status: 'completed', result: { i: 1 } });
    return `on ${res.json.worker}, ${res.json.start} start`;
  });

  await check('async run through controller-2, status read on controller-1', async () => {
    const id = await submit(c2, echo, { i: 2 });
    const job = await poll(c1, id, isFinal, 60_000, 'final');
    expectJob(job, { status: 'completed', result: { i: 2 } });
    return `on ${job.worker}`;
  });

  await check(`worker-1 killed mid-job: the job completes on worker-2 (visibility ${VISIBILITY_SEC} s)`, async () => {
    const w1 = await containerOf('worker-1');
    const w1Host = await hostnameOf(w1);
    const w2Host = await hostnameOf(await containerOf('worker-2'));
    // Only worker-1 takes jobs until it is killed.
    await dc(['stop', 'worker-2'], 120_000);
    // Its last long poll must end first, or it would take the job (one delivery lost).
    await sleep((WAIT_SEC + 1) * 1000);
    const id = await submit(c2, sleepy, {});
    const running = await poll(c1, id, (j) => j.status !== 'pending', 60_000, 'running');
    if (running.status !== 'running' || !running.worker?.startsWith(`${w1Host}:`)) {
      throw new Error(`expected the job running on worker-1 (${w1Host}), got ${JSON.stringify(running)}`);
    }
    await docker(['kill', w1]);
    const killedAt = Date.now();
    await dc(['start', 'worker-2'], 120_000);
    const job = await poll(c1, id, isFinal, 180_000, 'final');
    expectJob(job, { status: 'completed', result: { slept: true } });
    if (!job.worker?.startsWith(`${w2Host}:`))
      throw new Error(`expected worker-2 (${w2Host}) to finish it, got ${job.worker}`);
    if (job.attempts !== 2)
      throw new Error(`expected the second delivery to complete it, got attempts=${job.attempts}`);
    return `completed ${secs(Date.now() - killedAt)} after the kill, attempt ${job.attempts}`;
  });

  await check('worker-1 restarted: it removes the function containers the killed one left', async () => {
    const w1 = await containerOf('worker-1');
    const w1Host = await hostnameOf(w1);
    const left = await runContainersOf([w1Host]);
    if (left.length === 0)
      throw new Error('the killed worker-1 left no function container (its warm instances at least)');
    await dc(['start', 'worker-1'], 120_000);
    await waitHealthy(['worker-1'], 120_000);
    const still = (await runContainersOf([w1Host])).filter((id) => left.includes(id));
    if (still.length > 0) throw new Error(`still there after the restart: ${still.join(' ')}`);
    return `${left.length} removed`;
  });

  await check('after the drill: sync run through controller-2', async () => {
    const res = await http('POST', `${c2}/run`, { body: { function_id: echo, payload: { i: 3 } } });
    if (res.status !== 200) throw new Error(`sync /run answered ${res.status}: ${res.text}`);
    expectJob(res.json, { status: 'completed', result: { i: 3 } });
  });
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    say(`${signal}: taking the project down`);
    teardown().finally(() => process.exit(130));
  });
}

const started = Date.now();
try {
  await main();
} catch {
  await dumpLogs();
}
if (!interrupted) {
  try {
    await teardown();
  } catch {
    // counted and reported by check()
  }
  say(`timings: ${timings.map(([n, ms]) => `${n.split(':')[0]} ${secs(ms)}`).join('; ')}`);
  say(`up, checks and down took ${secs(Date.now() - started)}`);
  console.log(`compose-e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}
