import { sampleJob } from '@nanogrid/core/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisQueue } from '../src/index.js';
import type { RedisQueue, RedisQueueOptions } from '../src/index.js';
import { redisTestEnv, startRedisServer, uniquePrefix } from './redis-server.js';
import type { LocalRedis } from './redis-server.js';

const env = redisTestEnv();
const V = 300;

describe.skipIf(!env.ready)('redisQueue on a real redis-server', () => {
  let server: LocalRedis;
  let raw: Redis;
  const open: RedisQueue[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.dispose();
  });

  /** Two workers of one queue: same prefix and queue name, separate instances (consumers). */
  const workers = (n: number, extra: Partial<RedisQueueOptions> = {}) => {
    const keyPrefix = uniquePrefix('q');
    return Array.from({ length: n }, () => {
      const q = redisQueue({ connection: server.url, keyPrefix, visibilityTimeoutMs: V, maxAttempts: 3, ...extra });
      open.push(q);
      return q;
    });
  };

  it('another worker reclaims a delivery left unacknowledged past the visibility timeout; the stale ack does nothing', async () => {
    const [a, b] = workers(2);
    const job = sampleJob();
    await a!.send(job);
    const [first] = await a!.receive({ max: 1, waitMs: 1000 });
    expect(first?.attempt).toBe(1);
    // Still hidden from b while a holds it.
    expect(await b!.receive({ max: 1, waitMs: V / 3 })).toEqual([]);
    const [again] = await b!.receive({ max: 1, waitMs: V * 4 });
    expect(again?.job).toEqual(job);
    expect(again?.attempt).toBe(2);
    // The group itself keeps the count: XPENDING shows b's consumer with 2 deliveries.
    const pending = (await raw.call('XPENDING', a!.keys.stream, 'nanogrid-workers', '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending).toHaveLength(1);
    expect(pending[0]![3]).toBe(2);
    await first!.ack(); // stale: a lost it to b
    expect(await a!.depth()).toBe(0);
    expect(Number(await raw.call('XLEN', a!.keys.stream))).toBe(1);
    await again!.ack();
    expect(Number(await raw.call('XLEN', a!.keys.stream))).toBe(0);
  });

  it("extend(ms) beyond the visibility timeout holds the message for ms, then a dead worker's message comes back", async () => {
    const [a, b] = workers(2);
    await a!.send(sampleJob());
    const [d] = await a!.receive({ max: 1, waitMs: 1000 });
    const t0 = Date.now();
    await d!.extend(V * 3);
    expect(await b!.receive({ max: 1, waitMs: V * 2 })).toEqual([]);
    // a "dies" (never acks): once the lease ends, b gets it.
    const [again] = await b!.receive({ max: 1, waitMs: V * 6 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(V * 3 * 0.9);
    expect(again?.attempt).toBe(2);
    await again!.ack();
  });

  it('dead-letters garbage with a reason at once, never delivers it, and depth does not count it', async () => {
    const [q] = workers(1);
    await q!.sendRaw('{"job_id": ');
    await q!.sendRaw({ job_id: 'j-1', payload: {} });
    await q!.sendRaw({ job_id: '../etc', function_id: 'f', payload: {} });
    await raw.call('XADD', q!.keys.stream, '*', 'something', 'else');
    expect(await q!.depth()).toBe(4);
    expect(await q!.receive({ max: 10, waitMs: 300 })).toEqual([]);
    const dead = await q!.deadLetters();
    expect(dead).toHaveLength(4);
    for (const d of dead) {
      expect(d.job).toBeUndefined();
      expect(d.reason).toMatch(/\S/);
      expect(d.attempts).toBe(0);
    }
    expect(dead[0]!.body).toBe('{"job_id": ');
    expect(dead[1]!.reason).toMatch(/function_id/);
    expect(dead[2]!.reason).toMatch(/job_id/);
    expect(dead[3]!.reason).toMatch(/job/);
    expect(await q!.depth()).toBe(0);
    expect(Number(await raw.call('XLEN', q!.keys.stream))).toBe(0);
  });

  it('a job given up on after maxAttempts keeps the job and the reason in the dead-letter stream', async () => {
    const [q] = workers(1, { maxAttempts: 2 });
    const job = sampleJob();
    await q!.send(job);
    await (await q!.receive({ max: 1, waitMs: 1000 }))[0]!.retry();
    await (await q!.receive({ max: 1, waitMs: 1000 }))[0]!.retry();
    expect(await q!.receive({ max: 1, waitMs: V })).toEqual([]);
    const [dl] = await q!.deadLetters();
    expect(dl?.job).toEqual(job);
    expect(dl?.attempts).toBe(2);
    expect(dl?.reason).toMatch(/2 attempts/);
  });

  it('a delayed retry is kept in the delayed set, counted by depth, and delivered to any worker when due', async () => {
    const [a, b] = workers(2);
    await a!.send(sampleJob());
    const [d] = await a!.receive({ max: 1, waitMs: 1000 });
    await d!.retry(V * 2);
    expect(Number(await raw.call('ZCARD', a!.keys.delayed))).toBe(1);
    expect(await a!.depth()).toBe(1);
    const [again] = await b!.receive({ max: 1, waitMs: V * 5 });
    expect(again?.attempt).toBe(2);
    expect(Number(await raw.call('ZCARD', a!.keys.delayed))).toBe(0);
    await again!.ack();
  });

  it('a hostile payload (Lua and cjson traps, NUL, a lone surrogate, empty keys, deep arrays, 1 MiB) survives a delayed retry byte for byte', async () => {
    const [a, b] = workers(2);
    const payload = {
      lua: "]] end redis.call('FLUSHALL') --[[ %s %d \\ \" '",
      nl: 'a\nb\r\n\u2028',
      nul: 'x\u0000y',
      surrogate: '\ud800 \udfff',
      '': { '': [] },
      empty: {},
      list: [[], {}, [[[[[[[[[[[]]]]]]]]]]]],
      num: [1e308, 0.1, 2 ** 53 + 2, -1.5e-300],
      big: 'z'.repeat(1024 * 1024),
    };
    const job = sampleJob({ payload });
    await a!.send(job);
    const [d] = await a!.receive({ max: 1, waitMs: 1000 });
    expect(d?.job).toEqual(job);
    await d!.retry(50); // through the delayed set (cjson in the script)
    const [again] = await b!.receive({ max: 1, waitMs: V * 5 });
    expect(again?.attempt).toBe(2);
    expect(JSON.stringify(again?.job)).toBe(JSON.stringify(job));
    expect(Number(await raw.call('DBSIZE'))).toBeGreaterThan(0); // nothing was flushed
    await again!.ack();
  });

  it('a message sent before any worker existed is delivered (group created from id 0)', async () => {
    const [producer, worker] = workers(2);
    const job = sampleJob();
    await producer!.send(job);
    const [d] = await worker!.receive({ max: 1, waitMs: 1000 });
    expect(d?.job).toEqual(job);
    await d!.ack();
  });

  it('close() ends a pending long-poll and leaves no connection or consumer behind', async () => {
    const before = String(await raw.call('CLIENT', 'LIST'))
      .trim()
      .split('\n').length;
    const q = redisQueue({ connection: server.url, keyPrefix: uniquePrefix('q'), visibilityTimeoutMs: V });
    await q.send(sampleJob());
    const [d] = await q.receive({ max: 1, waitMs: 1000 });
    await d!.ack();
    const pending = q.receive({ max: 1, waitMs: 15_000 });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await q.close();
    expect(await pending).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(1000);
    const consumers = (await raw.call('XINFO', 'CONSUMERS', q.keys.stream, 'nanogrid-workers')) as unknown[];
    expect(consumers).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(
      String(await raw.call('CLIENT', 'LIST'))
        .trim()
        .split('\n').length,
    ).toBe(before);
  });

  it('send rejects an invalid job with BAD_MESSAGE before it reaches Redis', async () => {
    const [q] = workers(1);
    await expect(q!.send({ ...sampleJob(), job_id: 'bad/id' })).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    expect(await q!.depth()).toBe(0);
  });
});
