import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type JobRecord,
  type MemoryQueue,
  type QueueSource,
  type StorageBackend,
  NanoGridError,
  fsStorage,
  isNanoGridError,
  memoryQueue,
} from '../src/index.js';
import { type EngineEnv, engineEnv, src } from './helpers/engine-env.js';

async function deploy(
  env: EngineEnv,
  name: string,
  script: string,
  extra: { timeoutSec?: number } = {},
): Promise<string> {
  return (
    await env.ng.registry.deploy({
      functionName: name,
      runtime: 'sh',
      fileName: `${name}.sh`,
      data: src(script),
      ...extra,
    })
  ).function_id;
}

async function runJob(env: EngineEnv, functionId: string, payload: unknown = {}): Promise<JobRecord> {
  const { record } = await env.ng.jobs.submit(functionId, payload);
  return env.ng.jobs.wait(record.job_id, { timeoutMs: 30_000 });
}

describe('jobs through the engine (process sandbox)', () => {
  let env: EngineEnv;
  beforeAll(async () => {
    env = await engineEnv({ limits: { maxPayloadBytes: 1024, maxOutputBytes: 64 * 1024 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('pending → running → completed, with timestamps, attempts, worker and execution time', async () => {
    const id = await deploy(env, 'echo', 'cat\n');
    const { record, fn } = await env.ng.jobs.submit(id, { n: 1 });
    expect(record).toMatchObject({ status: 'pending', function_id: id, output_files: [] });
    expect(fn.function_id).toBe(id);
    const final = await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 });
    expect(final).toMatchObject({
      status: 'completed',
      result: { n: 1 },
      attempts: 1,
      worker: env.ng.worker?.options.id,
    });
    expect(final.execution_time_ms).toEqual(expect.any(Number));
    for (const t of [final.created_at, final.started_at, final.finished_at])
      expect(Date.parse(String(t))).not.toBeNaN();
    expect(Date.parse(String(final.finished_at))).toBeGreaterThanOrEqual(Date.parse(String(final.started_at)));
    expect(await env.ng.jobs.status(record.job_id)).toEqual(final);
  });

  it('a non-zero exit fails the job with NON_ZERO_EXIT and the stderr; the next job runs', async () => {
    const bad = await deploy(env, 'exit3', 'echo "boom on stderr" >&2\nexit 3\n');
    const failed = await runJob(env, bad);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('NON_ZERO_EXIT');
    expect(failed.error?.message).toContain('boom on stderr');
    expect((await runJob(env, await deploy(env, 'after', 'echo \'{"ok":true}\'\n'))).result).toEqual({ ok: true });
  });

  it('a function past its timeout is killed: TIMEOUT', async () => {
    const id = await deploy(env, 'sleepy', 'sleep 30\n', { timeoutSec: 1 });
    const started = Date.now();
    const final = await runJob(env, id);
    expect(final).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('output files: nested folders kept under outputs/{job_id}/, links in path order; over the cap: OUTPUT_TOO_LARGE', async () => {
    const id = await deploy(
      env,
      'files',
      'mkdir -p "$OUTPUT_DIR/a/b"\necho one > "$OUTPUT_DIR/z.txt"\necho two > "$OUTPUT_DIR/a/b/deep.csv"\necho "{}"\n',
    );
    const final = await runJob(env, id);
    expect(final.status).toBe('completed');
    expect(final.output_files.map((u) => new URL(u).pathname.replace(/^\/files\//, ''))).toEqual([
      `outputs/${final.job_id}/a/b/deep.csv`,
      `outputs/${final.job_id}/z.txt`,
    ]);
    expect(await env.ng.storage.head(`outputs/${final.job_id}/a/b/deep.csv`)).toMatchObject({ size: 4 });
    const big = await deploy(env, 'bigfiles', 'head -c 100000 /dev/zero > "$OUTPUT_DIR/big.bin"\necho "{}"\n');
    const tooBig = await runJob(env, big);
    expect(tooBig).toMatchObject({ status: 'failed', error: { code: 'OUTPUT_TOO_LARGE' }, output_files: [] });
    expect(await env.ng.storage.list(`outputs/${tooBig.job_id}/`)).toEqual([]);
  });

  it('refuses unknown functions and payloads over the limit before queueing', async () => {
    const id = await deploy(env, 'small', 'cat\n');
    const err = await env.ng.jobs.submit(id, { text: 'x'.repeat(2048) }).catch((e: unknown) => e);
    expect(isNanoGridError(err, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(isNanoGridError(await env.ng.jobs.submit('nope', {}).catch((e: unknown) => e), 'FUNCTION_NOT_FOUND')).toBe(
      true,
    );
    expect(isNanoGridError(await env.ng.jobs.status('nope').catch((e: unknown) => e), 'JOB_NOT_FOUND')).toBe(true);
  });

  it('a job whose function was deleted after submit fails with FUNCTION_NOT_FOUND', async () => {
    await env.ng.worker?.stop();
    try {
      const id = await deploy(env, 'deleted', 'cat\n');
      const { record } = await env.ng.jobs.submit(id, {});
      await env.ng.registry.delete(id);
      env.ng.worker?.start();
      expect(await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 })).toMatchObject({
        status: 'failed',
        error: { code: 'FUNCTION_NOT_FOUND' },
      });
    } finally {
      env.ng.worker?.start();
    }
  });
});

describe('queue and storage edge cases', () => {
  it('runs a message from an outside producer (NanoGrid Plus shape) and creates its record', async () => {
    const queue = memoryQueue();
    const env = await engineEnv({ queue });
    try {
      const id = await deploy(env, 'plus', 'cat\n');
      await (queue as MemoryQueue).sendRaw({
        requestId: 'plus-req-1',
        functionId: id,
        runtime: 'sh',
        s3Bucket: 'b',
        s3Key: `functions/${id}/code.zip`,
        timeoutMs: 5000,
        memoryMb: 128,
        payload: { hi: 1 },
      });
      const final = await env.ng.jobs.wait('plus-req-1', { timeoutMs: 20_000 });
      expect(final).toMatchObject({ job_id: 'plus-req-1', function_id: id, status: 'completed' });
    } finally {
      await env.close();
    }
  });

  it('messages that are not jobs are dead-lettered with a reason, never run or retried; the worker takes the next job', async () => {
    const queue = memoryQueue();
    const env = await engineEnv({ queue });
    try {
      await queue.sendRaw('{not json');
      await queue.sendRaw({ job_id: 'no-function-id' });
      const id = await deploy(env, 'next', 'cat\n');
      expect((await runJob(env, id, { n: 2 })).result).toEqual({ n: 2 });
      const dead = queue.deadLetters();
      expect(dead.map((d) => d.reason)).toEqual([
        expect.stringContaining('not JSON'),
        expect.stringContaining('function_id'),
      ]);
      expect(dead.every((d) => d.attempts === 0)).toBe(true);
    } finally {
      await env.close();
    }
  });

  it('a queue that refuses the job: the record reads failed and submit throws BACKEND_UNAVAILABLE', async () => {
    const inner = memoryQueue();
    const queue: QueueSource = {
      ...inner,
      name: 'down-queue',
      send: () => Promise.reject(new NanoGridError('BACKEND_UNAVAILABLE', 'queue is down')),
    };
    const env = await engineEnv({ queue }, false);
    try {
      const id = await deploy(env, 'q', 'cat\n');
      const err = await env.ng.jobs.submit(id, {}).catch((e: unknown) => e);
      expect(isNanoGridError(err, 'BACKEND_UNAVAILABLE')).toBe(true);
    } finally {
      await env.close();
    }
  });

  it.each([
    ['with backendRetryMs 0, by redelivery: the job completes on its second attempt', 0, 2],
    ['by default in place: the job completes on its first delivery, no attempt spent', undefined, 1],
  ] as const)('storage errors are retried %s', async (_title, backendRetryMs, attempts) => {
    let metaReads = 0;
    // A storage whose worker-side metadata read fails once, as an outage would.
    const wrap = (s: StorageBackend): StorageBackend => ({
      ...s,
      name: 'flaky',
      put: s.put.bind(s),
      head: s.head.bind(s),
      list: s.list.bind(s),
      delete: s.delete.bind(s),
      url: s.url.bind(s),
      get: async (key) => {
        // The submit reads the metadata first; the worker's one read of its first attempt meets the outage.
        if (key.endsWith('meta.json') && ++metaReads === 2)
          throw new NanoGridError('BACKEND_UNAVAILABLE', 'storage blinked');
        return s.get(key);
      },
    });
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-flaky-'));
    const env = await engineEnv({
      storage: wrap(fsStorage({ dir })),
      queue: memoryQueue({ visibilityTimeoutMs: 60_000 }),
      worker: { concurrency: 2, pollWaitMs: 500, ...(backendRetryMs === undefined ? {} : { backendRetryMs }) },
    });
    try {
      env.ng.registry.metaCacheMs = 0; // every read goes to the storage, as on separate machines
      const id = await deploy(env, 'flaky', 'cat\n');
      const { record } = await env.ng.jobs.submit(id, { again: true });
      const final = await env.ng.jobs.wait(record.job_id, { timeoutMs: 30_000 });
      expect(final).toMatchObject({ status: 'completed', result: { again: true }, attempts });
      // One read by the submit, then one per try: a delivery attempt or an in-place retry.
      expect(metaReads).toBe(3);
      // A job that meets no outage: the worker reads its function once.
      const before = metaReads;
      const second = await env.ng.jobs.submit(id, { once: true });
      expect(await env.ng.jobs.wait(second.record.job_id, { timeoutMs: 30_000 })).toMatchObject({
        status: 'completed',
      });
      expect(metaReads - before).toBe(2); // the submit's read + the worker's one
    } finally {
      await env.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stop() takes no new jobs and waits for the running one to finish', async () => {
    const env = await engineEnv();
    try {
      const id = await deploy(env, 'slow', 'sleep 1\necho \'{"done":true}\'\n');
      const { record } = await env.ng.jobs.submit(id, {});
      while ((await env.ng.jobs.status(record.job_id)).status !== 'running')
        await new Promise((r) => setTimeout(r, 20));
      await env.ng.worker?.stop();
      expect(await env.ng.jobs.status(record.job_id)).toMatchObject({ status: 'completed', result: { done: true } });
      const second = await env.ng.jobs.submit(id, {});
      expect((await env.ng.jobs.wait(second.record.job_id, { timeoutMs: 300 })).status).toBe('pending');
    } finally {
      await env.close();
    }
  });
});
