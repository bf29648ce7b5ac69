import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs, LOCAL_SQS_CREDENTIALS, type LocalSqs } from '../../queue-sqs/src/local-server.js';
import { type LocalRedis, redisTestEnv, startRedisServer } from '../../redis/test/redis-server.js';
import {
  type LocalS3,
  S3RVER_CREDENTIALS,
  localS3Storage,
  startLocalS3,
  uniqueBucket,
} from '../../storage-s3/test/s3-server.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = join(repo, 'packages/host/dist/cli.js');
const dist = (pkg: string): string => JSON.stringify(join(repo, 'packages', pkg, 'dist/index.js'));

const ECHO_PY = 'def handler(event, context):\n    return {"i": event["i"]}\n';
const SLEEPY_PY = 'import time\n\ndef handler(event, context):\n    time.sleep(3)\n    return {"slept": True}\n';

interface Host {
  role: 'controller' | 'worker';
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

interface Job {
  job_id: string;
  status: string;
  result?: { i?: number; slept?: boolean };
  attempts?: number;
  worker?: string;
  error?: { code: string };
}

/** Starts `nanogrid start --role <role>` as its own OS process and waits for its "listening" line. */
function startHost(role: Host['role'], config: string, cwd: string): Promise<Host> {
  const child = spawn(process.execPath, [cli, 'start', '--role', role, '--config', config, '--port', '0'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolveHost, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${role} did not start within 60 s:\n${err}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /nanogrid listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveHost({ role, child, url: m[1], stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited early with ${code}:\n${err}`));
    });
  });
}

function kill9(host: Host): Promise<void> {
  return new Promise((done) => {
    if (host.child.exitCode !== null || host.child.signalCode !== null) return done();
    host.child.once('exit', () => done());
    host.child.kill('SIGKILL');
  });
}

/**
 * Counts the messages published on Redis channels matching `pattern`, per channel,
 * over a raw RESP connection (PSUBSCRIBE), so the test sees every publication.
 */
async function countPublications(
  port: number,
  pattern: string,
): Promise<{ counts: Map<string, number>; close(): void }> {
  const counts = new Map<string, number>();
  const socket = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  // Reads one RESP value at `at`; returns [value, next offset] or undefined when incomplete.
  const read = (at: number): [unknown, number] | undefined => {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const head = buf.toString('latin1', at, eol);
    const kind = head[0];
    if (kind === '$') {
      const len = Number(head.slice(1));
      if (buf.length < eol + 2 + len + 2) return undefined;
      return [buf.toString('utf8', eol + 2, eol + 2 + len), eol + 2 + len + 2];
    }
    if (kind === '*') {
      const items: unknown[] = [];
      let next = eol + 2;
      for (let i = 0; i < Number(head.slice(1)); i++) {
        const r = read(next);
        if (!r) return undefined;
        items.push(r[0]);
        next = r[1];
      }
      return [items, next];
    }
    return [head.slice(1), eol + 2];
  };
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const r = read(0);
      if (!r) break;
      buf = buf.subarray(r[1]);
      const v = r[0];
      if (Array.isArray(v) && v[0] === 'pmessage') counts.set(String(v[2]), (counts.get(String(v[2])) ?? 0) + 1);
    }
  });
  await new Promise<void>((ok, fail) => {
    socket.once('connect', () => ok());
    socket.once('error', fail);
  });
  socket.write(`*2\r\n$10\r\nPSUBSCRIBE\r\n$${Buffer.byteLength(pattern)}\r\n${pattern}\r\n`);
  await new Promise((r) => setTimeout(r, 100)); // the subscription is confirmed before jobs start
  return { counts, close: () => socket.destroy() };
}

async function deploy(url: string, name: string, source: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([source]), `${name}.py`);
  form.append('function_name', name);
  form.append('runtime', 'python3.11');
  form.append('handler', `${name}.handler`);
  form.append('timeout', '60');
  const res = await fetch(`${url}/upload`, { method: 'POST', body: form });
  const body = (await res.json()) as { function_id: string };
  if (res.status !== 201) throw new Error(`deploy failed: ${res.status} ${JSON.stringify(body)}`);
  return body.function_id;
}

async function runSync(url: string, functionId: string, payload: unknown): Promise<{ status: number; job: Job }> {
  const res = await fetch(`${url}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ function_id: functionId, payload }),
  });
  return { status: res.status, job: (await res.json()) as Job };
}

async function submit(url: string, functionId: string, payload: unknown): Promise<string> {
  const res = await fetch(`${url}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-async': 'true' },
    body: JSON.stringify({ function_id: functionId, payload }),
  });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as Job).job_id;
}

async function status(url: string, jobId: string): Promise<Job> {
  return (await (await fetch(`${url}/status/${jobId}`)).json()) as Job;
}

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

const env = redisTestEnv();

/**
 * The production topology as separate OS processes: 2 controllers and 2 workers
 * sharing an SQS queue (local-aws-sqs), Redis results (redis-server) and S3
 * storage (s3rver), each started with `nanogrid start --role …`.
 */
describe.skipIf(!env.ready)('2 controllers + 2 workers on SQS + Redis + S3 (real processes)', () => {
  let redis: LocalRedis;
  let sqs: LocalSqs;
  let s3: LocalS3;
  let dir: string;
  let config: string;
  let channelPrefix: string;
  const hosts: Host[] = [];
  let controllerA: Host;
  let controllerB: Host;

  beforeAll(async () => {
    [redis, sqs, s3] = await Promise.all([startRedisServer(), startLocalSqs(), startLocalS3()]);
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-e2e-'));
    const bucket = uniqueBucket('e2e');
    await localS3Storage(s3, { bucket }).check(); // creates the bucket once, before four processes race for it
    const tag = randomBytes(4).toString('hex');
    channelPrefix = `e2e-${tag}:result:`;
    config = join(dir, 'nanogrid.config.mjs');
    await writeFile(
      config,
      `import { redisResults } from ${dist('redis')};
import { sqsQueue } from ${dist('queue-sqs')};
import { s3Storage } from ${dist('storage-s3')};

export default {
  hostname: '127.0.0.1',
  storage: s3Storage({ bucket: ${JSON.stringify(bucket)}, endpoint: ${JSON.stringify(s3.endpoint)}, forcePathStyle: true, region: 'us-east-1', credentials: ${JSON.stringify(S3RVER_CREDENTIALS)} }),
  // A short visibility timeout so a killed worker's job comes back within seconds.
  queue: sqsQueue({ queueName: 'e2e-${tag}', endpoint: ${JSON.stringify(sqs.endpoint)}, region: 'us-east-1', credentials: ${JSON.stringify(LOCAL_SQS_CREDENTIALS)}, createQueue: true, visibilityTimeoutSec: 5, waitTimeSec: 1 }),
  results: redisResults({ connection: ${JSON.stringify(redis.url)}, keyPrefix: 'e2e-${tag}:', channelPrefix: ${JSON.stringify(channelPrefix)} }),
  sandbox: 'process',
  worker: { concurrency: 4, pollWaitMs: 1000 },
  http: { rateLimit: false },
};
`,
    );
    // The queue is created by the first process; start one, then the rest at once.
    controllerA = await startHost('controller', config, dir);
    const rest = await Promise.all([
      startHost('controller', config, dir),
      startHost('worker', config, dir),
      startHost('worker', config, dir),
    ]);
    controllerB = rest[0];
    hosts.push(controllerA, ...rest);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(hosts.map(kill9));
    await Promise.allSettled([redis?.dispose(), sqs?.stop(), s3?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const workers = (): Host[] =>
    hosts.filter((h) => h.role === 'worker' && h.child.exitCode === null && h.child.signalCode === null);

  it('a sync run through either controller; the status of a job from the controller that did not submit it', async () => {
    const fid = await deploy(controllerA.url, 'echo', ECHO_PY);
    expect(await runSync(controllerA.url, fid, { i: 1 })).toMatchObject({
      status: 200,
      job: { status: 'completed', result: { i: 1 } },
    });
    expect(await runSync(controllerB.url, fid, { i: 2 })).toMatchObject({
      status: 200,
      job: { status: 'completed', result: { i: 2 } },
    });
    const jobId = await submit(controllerA.url, fid, { i: 3 });
    let job = await status(controllerB.url, jobId);
    expect(job.job_id).toBe(jobId);
    while (job.status !== 'completed' && job.status !== 'failed') {
      await new Promise((r) => setTimeout(r, 100));
      job = await status(controllerB.url, jobId);
    }
    expect(job).toMatchObject({ status: 'completed', result: { i: 3 } });
  }, 60_000);

  it('a worker killed with SIGKILL mid-job: the job is delivered again and completes once', async () => {
    const publications = await countPublications(redis.port, `${channelPrefix}*`);
    try {
      const fid = await deploy(controllerB.url, 'sleepy', SLEEPY_PY);
      const jobId = await submit(controllerA.url, fid, {});
      let job = await status(controllerB.url, jobId);
      while (job.status !== 'running') {
        await new Promise((r) => setTimeout(r, 100));
        job = await status(controllerB.url, jobId);
      }
      const victim = workers().find((w) => job.worker?.endsWith(`:${w.child.pid}`));
      expect(victim, `worker ${job.worker} is one of ours`).toBeDefined();
      await kill9(victim!);
      while (job.status !== 'completed' && job.status !== 'failed') {
        await new Promise((r) => setTimeout(r, 250));
        job = await status(controllerB.url, jobId);
      }
      expect(job).toMatchObject({ status: 'completed', result: { slept: true }, attempts: 2 });
      expect(job.worker?.endsWith(`:${victim!.child.pid}`)).toBe(false);
      expect(publications.counts.get(`${channelPrefix}${jobId}`)).toBe(1);
      // Back to two workers for what follows.
      hosts.push(await startHost('worker', config, dir));
    } finally {
      publications.close();
    }
  }, 90_000);

  it('a controller killed: the other keeps serving', async () => {
    await kill9(controllerA);
    expect((await fetch(`${controllerB.url}/health`)).status).toBe(200);
    const fid = await deploy(controllerB.url, 'echo2', ECHO_PY);
    expect(await runSync(controllerB.url, fid, { i: 7 })).toMatchObject({
      status: 200,
      job: { status: 'completed', result: { i: 7 } },
    });
  }, 60_000);

  it('1,000 async jobs: all completed, none lost, none reported twice, each with its own result', async () => {
    const publications = await countPublications(redis.port, `${channelPrefix}*`);
    try {
      const fid = await deploy(controllerB.url, 'many', ECHO_PY);
      const n = 1000;
      const started = Date.now();
      const ids = await pool([...Array(n).keys()], 32, (i) => submit(controllerB.url, fid, { i }));
      expect(new Set(ids).size).toBe(n);
      const finals = new Map<string, Job>();
      while (finals.size < n) {
        const open = ids.filter((id) => !finals.has(id));
        const seen = await pool(open, 32, (id) => status(controllerB.url, id));
        for (const job of seen) if (job.status === 'completed' || job.status === 'failed') finals.set(job.job_id, job);
        if (finals.size < n) await new Promise((r) => setTimeout(r, 500));
        if (Date.now() - started > 240_000) break;
      }
      const elapsed = (Date.now() - started) / 1000;
      console.info(
        `distributed e2e: ${finals.size}/${n} jobs final in ${elapsed.toFixed(1)} s (${(n / elapsed).toFixed(0)} jobs/s)`,
      );
      expect(finals.size).toBe(n);
      ids.forEach((id, i) => expect(finals.get(id)).toMatchObject({ status: 'completed', result: { i } }));
      await new Promise((r) => setTimeout(r, 200)); // the last publications reach the counter
      const twice = ids.filter((id) => publications.counts.get(`${channelPrefix}${id}`) !== 1);
      expect(twice).toEqual([]);
    } finally {
      publications.close();
    }
  }, 300_000);
});
