import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, redisTestEnv, startRedisServer, uniquePrefix } from '../../redis/test/redis-server.js';
import { uploadForm } from './helpers.js';
import { type HostProcess, buildCli, distOf, startHostProcess } from './host-process.js';

const SLOW_PY = `import time

def handler(event, context):
    time.sleep(1)
    return {"done": event["n"]}
`;
const VISIBILITY_MS = 3000;

interface Job {
  status: string;
  worker?: string;
  attempts?: number;
  finished_at?: string;
  result?: unknown;
}

const env = redisTestEnv();

/** A worker frozen past the visibility timeout: another one completes the job, the frozen one's late result is dropped. */
describe.skipIf(!env.ready)('drill: a worker SIGSTOPped past the visibility timeout, then SIGCONTed', () => {
  let redis: LocalRedis;
  let cwd: string;
  const hosts: HostProcess[] = [];

  beforeAll(async () => {
    await buildCli(['redis']);
    redis = await startRedisServer();
    cwd = await mkdtemp(join(tmpdir(), 'nanogrid-sigstop-'));
    const prefix = uniquePrefix('sigstop');
    await writeFile(
      join(cwd, 'nanogrid.config.mjs'),
      `import { fsStorage } from ${distOf('core')};
import { redisQueue, redisResults } from ${distOf('redis')};
const connection = ${JSON.stringify(redis.url)};
export default {
  sandbox: 'process',
  hostname: '127.0.0.1',
  storage: fsStorage({ dir: ${JSON.stringify(join(cwd, 'storage'))} }),
  queue: redisQueue({ connection, keyPrefix: ${JSON.stringify(prefix)}, visibilityTimeoutMs: ${VISIBILITY_MS} }),
  results: redisResults({ connection, keyPrefix: ${JSON.stringify(prefix)} }),
  worker: { concurrency: 1, pollWaitMs: 500, id: process.env.WORKER_ID },
  http: { rateLimit: false },
};
`,
    );
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) {
      h.child.kill('SIGCONT');
      await h.stop('SIGKILL');
    }
    await redis?.dispose();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('the job completes once, on the other worker; the late result does not overwrite it', async () => {
    const controller = await startHostProcess(cwd, { args: ['--role', 'controller'] });
    hosts.push(controller);
    const frozen = await startHostProcess(cwd, { args: ['--role', 'worker'], env: { WORKER_ID: 'worker-frozen' } });
    hosts.push(frozen);
    const up = await fetch(`${controller.url}/upload`, {
      method: 'POST',
      body: uploadForm({ file: { name: 'slow.py', content: SLOW_PY }, function_name: 'slow', runtime: 'python3' }),
    });
    expect(up.status).toBe(201);
    const { function_id } = (await up.json()) as { function_id: string };
    const res = await fetch(`${controller.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Async': 'true' },
      body: JSON.stringify({ function_id, payload: { n: 1 } }),
    });
    const { job_id } = (await res.json()) as { job_id: string };
    const read = async (): Promise<Job> => (await (await fetch(`${controller.url}/status/${job_id}`)).json()) as Job;

    // Freeze the worker as soon as it runs the job, for longer than the visibility timeout.
    await expect.poll(async () => (await read()).worker, { timeout: 30_000, interval: 20 }).toBe('worker-frozen');
    frozen.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    const rescuer = await startHostProcess(cwd, { args: ['--role', 'worker'], env: { WORKER_ID: 'worker-rescuer' } });
    hosts.push(rescuer);
    await expect.poll(async () => (await read()).status, { timeout: 30_000, interval: 100 }).toBe('completed');
    const final = await read();
    expect(final).toMatchObject({ status: 'completed', worker: 'worker-rescuer', attempts: 2, result: { done: 1 } });
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(VISIBILITY_MS * 0.8);

    // Thaw it: its run finishes, its publish finds a final record and changes nothing.
    frozen.child.kill('SIGCONT');
    await expect
      .poll(() => frozen.stderr(), { timeout: 30_000, interval: 100 })
      .toMatch(/already had a final state; this run's result is dropped/);
    expect(await read()).toEqual(final);
    console.log(
      `sigstop drill: frozen ${Date.now() - frozenAt} ms; final record by ${final.worker}, attempt ${final.attempts}`,
    );
  }, 120_000);
});
