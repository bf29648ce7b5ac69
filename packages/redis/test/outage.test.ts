import { isNanoGridError } from '@nanogrid/core';
import type { NanoGridError } from '@nanogrid/core';
import { eventually, sampleJob, sampleRecord } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisQueue, redisRateLimitStore, redisResults } from '../src/index.js';
import { redisTestEnv, startRedisServer, uniquePrefix } from './redis-server.js';
import type { LocalRedis } from './redis-server.js';

const env = redisTestEnv();

/** The error an operation failed with (fails the test when it resolved). */
async function failure(p: Promise<unknown>): Promise<NanoGridError> {
  try {
    await p;
  } catch (err) {
    if (isNanoGridError(err)) return err;
    throw err;
  }
  throw new Error('expected the operation to fail');
}

/** Fails within `ms`: an outage must answer fast (503), not hang. */
async function quickFailure(p: Promise<unknown>, ms = 1_000): Promise<NanoGridError> {
  const t0 = Date.now();
  const err = await failure(p);
  expect(Date.now() - t0).toBeLessThan(ms);
  return err;
}

describe.skipIf(!env.ready)('Redis down → BACKEND_UNAVAILABLE, then recovery', () => {
  let server: LocalRedis;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('nothing listening: every plugin rejects quickly with BACKEND_UNAVAILABLE naming redis and the address', async () => {
    const dead = await startRedisServer();
    await dead.dispose(); // a port where nothing listens any more
    const opts = { connection: dead.url, keyPrefix: uniquePrefix('down'), connectTimeoutMs: 1_000 };
    const q = redisQueue(opts);
    const r = redisResults(opts);
    const rl = redisRateLimitStore(opts);
    try {
      const errors = [
        await quickFailure(q.send(sampleJob())),
        await quickFailure(q.receive({ max: 1, waitMs: 5_000 })),
        await quickFailure(q.depth()),
        await quickFailure(r.get('job-x')),
        await quickFailure(r.wait('job-x', { timeoutMs: 5_000 })),
        await quickFailure(rl.hit('ip', 1000)),
      ];
      for (const err of errors) {
        expect(err.code).toBe('BACKEND_UNAVAILABLE');
        expect(err.status).toBe(503);
        expect(err.details).toMatchObject({ backend: 'redis', address: `redis at 127.0.0.1:${dead.port}` });
      }
      expect(errors.map((e) => e.plugin)).toEqual([
        'redis-queue',
        'redis-queue',
        'redis-queue',
        'redis-results',
        'redis-results',
        'redis-rate-limit',
      ]);
    } finally {
      await Promise.all([q.close(), r.close(), rl.close?.()]);
    }
  });

  it('a restart of Redis: operations fail fast while it is down and succeed again once it is back', async () => {
    const keyPrefix = uniquePrefix('restart');
    const opts = { connection: server.url, keyPrefix, connectTimeoutMs: 1_000, visibilityTimeoutMs: 1_000 };
    const q = redisQueue(opts);
    const controller = redisResults(opts);
    const worker = redisResults(opts);
    const rl = redisRateLimitStore(opts);
    try {
      // Warm: every connection (command, blocking, subscriber) is open before the outage.
      await q.send(sampleJob());
      await (await q.receive({ max: 1, waitMs: 1_000 }))[0]!.ack();
      const rec = sampleRecord();
      await controller.create(rec);
      const waiting = controller.wait(rec.job_id, { timeoutMs: 30_000 });
      await eventually(async () => expect(controller.waiting()).toBe(1), 2_000);
      const polling = failure(q.receive({ max: 1, waitMs: 20_000 }));
      await rl.hit('ip', 60_000);

      await server.stop();
      const t0 = Date.now();
      expect((await polling).code).toBe('BACKEND_UNAVAILABLE');
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect((await quickFailure(q.send(sampleJob()))).code).toBe('BACKEND_UNAVAILABLE');
      expect((await quickFailure(controller.get(rec.job_id))).code).toBe('BACKEND_UNAVAILABLE');
      expect((await quickFailure(rl.hit('ip', 60_000))).code).toBe('BACKEND_UNAVAILABLE');

      await server.start(); // empty: it runs without persistence
      // ioredis reconnects by itself; the queue re-creates its consumer group.
      const job = sampleJob();
      await eventually(() => q.send(job), 10_000, 100);
      const [d] = await q.receive({ max: 1, waitMs: 5_000 });
      expect(d?.job).toEqual(job);
      await d!.ack();
      expect((await rl.hit('ip', 60_000)).count).toBe(1);
      // The waiter's subscription survived the restart: a publish after it still wakes it.
      const t1 = Date.now();
      expect(await worker.publish({ ...rec, status: 'completed', result: { after: 'restart' } })).toBe(true);
      expect(await waiting).toMatchObject({ job_id: rec.job_id, status: 'completed', result: { after: 'restart' } });
      expect(Date.now() - t1).toBeLessThan(3_000);
    } finally {
      await Promise.all([q.close(), controller.close(), worker.close(), rl.close?.()]);
    }
  });
});
