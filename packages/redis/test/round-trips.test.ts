import { eventually, sampleJob, sampleRecord } from '@nanogrid/core/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisQueue, redisResults } from '../src/index.js';
import type { RedisQueue, RedisResults } from '../src/index.js';
import { RecordCache } from '../src/record-cache.js';
import { done, redisTestEnv, startRedisServer, uniquePrefix } from './redis-server.js';
import type { LocalRedis } from './redis-server.js';

const env = redisTestEnv();

describe('RecordCache', () => {
  it('is bounded in entries and bytes, oldest out first, and hands out copies', () => {
    const cache = new RecordCache(3, 2000);
    for (let i = 0; i < 5; i++) cache.set(`j${i}`, JSON.stringify(sampleRecord({ job_id: `j${i}` })), '1');
    expect(cache.size()).toBe(3);
    expect(cache.get('j0')).toBeUndefined();
    expect(cache.get('j4')?.record.job_id).toBe('j4');
    // A record over a quarter of the byte budget (500) is not kept; big ones push out the oldest.
    cache.set('big', JSON.stringify(sampleRecord({ result: 'x'.repeat(400) })), '1');
    expect(cache.get('big')).toBeUndefined();
    expect(cache.size()).toBe(3);
    const byBytes = new RecordCache(100, 2000);
    const mid = () => JSON.stringify(sampleRecord({ result: 'x'.repeat(250) })); // ~450 bytes
    for (const id of ['m1', 'm2', 'm3', 'm4', 'm5']) byBytes.set(id, mid(), '1');
    expect(byBytes.size()).toBe(4); // a fifth would pass 2000 bytes: the oldest went
    expect(byBytes.get('m1')).toBeUndefined();
    expect(byBytes.get('m5')).toBeDefined();
    const copy = cache.get('j4')!;
    copy.record.status = 'failed';
    expect(cache.get('j4')?.record.status).toBe('pending');
    cache.delete('j4');
    expect(cache.get('j4')).toBeUndefined();
  });
});

describe.skipIf(!env.ready)('redisResults round trips (real redis-server)', () => {
  let server: LocalRedis;
  let raw: Redis;
  const open: RedisResults[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.dispose();
  });

  const sinks = (n: number, ttlSec?: number) => {
    const keyPrefix = uniquePrefix('rt');
    return Array.from({ length: n }, () => {
      const s = redisResults({ connection: server.url, keyPrefix, ...(ttlSec ? { ttlSec } : {}) });
      open.push(s);
      return s;
    });
  };

  /** Calls per command since the last reset (this server runs only this file's tests, one at a time). */
  const commands = async () => {
    const text = String(await raw.call('INFO', 'commandstats'));
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  };
  const resetStats = () => raw.call('CONFIG', 'RESETSTAT');

  /** Create, running update, wait, final publish: a sync call's record traffic. */
  const cycle = async (s: RedisResults) => {
    const rec = sampleRecord();
    await s.create(rec);
    const running = await s.update(rec.job_id, { status: 'running', worker: 'w1' });
    const waiting = s.wait(rec.job_id, { timeoutMs: 10_000 });
    await eventually(async () => expect(s.waiting()).toBe(1), 2_000);
    expect(await s.publish(done(running!))).toBe(true);
    return { rec, final: await waiting };
  };

  it('the writer of a job writes each state in one script, without reading it first', async () => {
    const [s] = sinks(1);
    await cycle(s!); // loads the scripts (NOSCRIPT, EVAL) and subscribes the waits' channel
    await resetStats();
    const { rec, final } = await cycle(s!);
    expect(final).toMatchObject({ job_id: rec.job_id, status: 'completed', worker: 'w1', result: { ok: true } });
    const c = await commands();
    // create, running, register + read for the wait, final: four scripts; no HMGET, SUBSCRIBE, UNSUBSCRIBE.
    expect(c.evalsha).toBe(4);
    expect(c.hmget).toBe(4); // each script's own read of the hash, inside Redis
    expect(c.subscribe ?? 0).toBe(0);
    expect(c.unsubscribe ?? 0).toBe(0);
    expect(await raw.call('HEXISTS', s!.key(rec.job_id), 'waiters')).toBe(0); // the final write forgot the waiter
  });

  it('a second wait of a job this instance already waits for sends nothing to Redis', async () => {
    const [controller, worker] = sinks(2);
    await cycle(controller!);
    const rec = sampleRecord();
    await controller!.create(rec);
    const first = controller!.wait(rec.job_id, { timeoutMs: 10_000 });
    await eventually(async () => expect(controller!.followers()).toBe(1), 2_000);
    await new Promise((r) => setTimeout(r, 50)); // its registration answered
    await resetStats();
    const second = controller!.wait(rec.job_id, { timeoutMs: 10_000 });
    await eventually(async () => expect(controller!.waiting()).toBe(2), 2_000);
    const sent = Object.keys(await commands()).filter((k) => !k.startsWith('config') && k !== 'info');
    expect(sent).toEqual([]);
    expect(await worker!.publish(done(rec, { n: 2 }))).toBe(true);
    const got = await Promise.all([first, second]);
    expect(got.map((r) => r?.result)).toEqual([{ n: 2 }, { n: 2 }]);
    expect(controller!.followers()).toBe(0);
  });

  it('a writer holding an old version merges into what another writer stored (a retry, not a lost write)', async () => {
    const [a, b] = sinks(2);
    const rec = sampleRecord();
    await a!.create(rec); // a caches version 1
    await b!.update(rec.job_id, { attempts: 2 }); // b reads and writes: a's copy is stale
    const updated = await a!.update(rec.job_id, { status: 'running', worker: 'a' });
    expect(updated).toMatchObject({ status: 'running', worker: 'a', attempts: 2 });
    await b!.update(rec.job_id, { function_version: 7 });
    expect(await a!.publish(done(updated!))).toBe(true);
    expect(await b!.get(rec.job_id)).toMatchObject({
      status: 'completed',
      worker: 'a',
      attempts: 2,
      function_version: 7,
    });
    // Once final, no writer's stale copy changes it.
    expect(await a!.update(rec.job_id, { worker: 'late' })).toBeUndefined();
    expect(await b!.publish({ ...rec, status: 'failed' })).toBe(false);
  });

  it('a record that expired and was made again under the same id is not overwritten from an old copy', async () => {
    const [a, b] = sinks(2);
    const rec = sampleRecord();
    await a!.create(rec);
    await raw.call('DEL', a!.key(rec.job_id)); // expired
    await b!.create({ ...rec, callback_url: 'https://example.test/hook' }); // a new job under the same id
    const updated = await a!.update(rec.job_id, { status: 'running' });
    expect(updated).toMatchObject({ status: 'running', callback_url: 'https://example.test/hook' });
  });

  it('a wait for a job that has no record yet leaves a registration that expires like a record', async () => {
    const [s, worker] = sinks(2, 30);
    const jobId = sampleRecord().job_id;
    const waiting = s!.wait(jobId, { timeoutMs: 10_000 });
    await eventually(async () => expect(await raw.call('HEXISTS', s!.key(jobId), 'waiters')).toBe(1), 2_000);
    const ttl = Number(await raw.call('TTL', s!.key(jobId)));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
    expect(await s!.get(jobId)).toBeUndefined();
    expect((await s!.list!({ limit: 10 })).jobs).toEqual([]);
    // A job first known by its result: published, indexed, and the waiter hears it.
    expect(await worker!.publish(done(sampleRecord({ job_id: jobId })))).toBe(true);
    expect(await waiting).toMatchObject({ job_id: jobId, status: 'completed' });
    expect((await s!.list!({ limit: 10 })).jobs.map((j) => j.job_id)).toEqual([jobId]);
  });

  it('hostile job ids (newlines, glob and Lua pattern characters) stay one job each', async () => {
    const [s, worker] = sinks(2);
    const ids = ['a\nb', 'a', 'b', '%s*?[x]', 'result:*'];
    const waits = ids.map((id) => s!.wait(id, { timeoutMs: 10_000 }));
    await eventually(async () => expect(s!.waiting()).toBe(ids.length), 2_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(await worker!.publish(done(sampleRecord({ job_id: 'a\nb' }), 'ab'))).toBe(true);
    expect(await waits[0]).toMatchObject({ job_id: 'a\nb', result: 'ab' });
    expect(s!.waiting()).toBe(ids.length - 1);
    for (const [i, id] of ids.entries()) {
      if (i === 0) continue;
      expect(await worker!.publish(done(sampleRecord({ job_id: id }), id))).toBe(true);
      expect(await waits[i]).toMatchObject({ job_id: id, result: id });
    }
  });

  it('a receive with messages waiting is one script (retries due, timed-out deliveries, new entries), no blocking read', async () => {
    const q: RedisQueue = redisQueue({
      connection: server.url,
      keyPrefix: uniquePrefix('rtq'),
      visibilityTimeoutMs: 200,
    });
    try {
      await q.send(sampleJob());
      await q.send(sampleJob());
      const [retried, abandoned] = await q.receive({ max: 2, waitMs: 1000 }); // creates the group, loads the script
      await retried!.retry(50); // into the delayed set
      await new Promise((r) => setTimeout(r, 250)); // the retry is due, the other delivery timed out
      for (let i = 0; i < 3; i++) await q.send(sampleJob());
      await resetStats();
      const got = await q.receive({ max: 8, waitMs: 1000 });
      expect(got).toHaveLength(5);
      const again = got.filter((d) => d.attempt === 2).map((d) => d.job.job_id);
      expect(again.sort()).toEqual([retried!.job.job_id, abandoned!.job.job_id].sort());
      const c = await commands();
      expect(c.evalsha).toBe(1);
      expect(c.zrem).toBe(1); // the due retry moved
      expect(c.xclaim).toBe(1); // the timed-out delivery taken back
      expect(c.xreadgroup).toBe(1); // new entries read inside the script, without BLOCK
      await Promise.all(got.map((d) => d.ack()));
      // Nothing waiting: the script finds nothing, then one blocking read waits.
      await resetStats();
      expect(await q.receive({ max: 8, waitMs: 100 })).toEqual([]);
      const idle = await commands();
      expect(idle.xreadgroup).toBeGreaterThanOrEqual(2);
    } finally {
      await q.close();
    }
  });

  it('the commands of one event-loop turn reach Redis in one write, in order', async () => {
    const [s] = sinks(1);
    const recs = Array.from({ length: 50 }, () => sampleRecord());
    const warm = sampleRecord();
    await s!.create(warm); // connects and loads the scripts (a NOSCRIPT retry would reorder the first ones)
    await s!.update(warm.job_id, { attempts: 1 });
    const reads = async () => Number(/total_reads_processed:(\d+)/.exec(String(await raw.call('INFO', 'stats')))?.[1]);
    const before = await reads();
    // 50 creates then 50 updates of the same jobs, all issued in one turn: each update must see its create.
    const created = recs.map((r) => s!.create(r));
    const updated = recs.map((r, i) => s!.update(r.job_id, { attempts: i }));
    await Promise.all(created);
    const got = await Promise.all(updated);
    got.forEach((r, i) => expect(r).toMatchObject({ job_id: recs[i]!.job_id, attempts: i }));
    // Redis read them in a few reads (one per write from this process, plus the INFO calls), not 100.
    expect((await reads()) - before).toBeLessThan(10);
  });

  it("a sync call's create registers its wait: the wait sends nothing, even when the result comes first", async () => {
    const [controller, worker] = sinks(2);
    await cycle(controller!);
    const rec = sampleRecord();
    await resetStats();
    await controller!.create(rec, { waiting: true });
    await worker!.update(rec.job_id, { status: 'running' });
    const waiting = controller!.wait(rec.job_id, { timeoutMs: 10_000 });
    await eventually(async () => expect(controller!.waiting()).toBe(1), 2_000);
    expect(await worker!.publish(done(rec, { sync: true }))).toBe(true);
    expect(await waiting).toMatchObject({ status: 'completed', result: { sync: true } });
    const c = await commands();
    expect(c.evalsha).toBe(3); // create (+ registration), running, final
    expect(c.hmget).toBe(4); // 3 inside the scripts + the worker's read of a job it did not write
    expect(controller!.followers()).toBe(0);
    // The result lands before the wait starts: the wait reads it (one registration), nothing is lost.
    const fast = sampleRecord();
    await controller!.create(fast, { waiting: true });
    expect(await worker!.publish(done(fast, { fast: true }))).toBe(true);
    await new Promise((r) => setTimeout(r, 50)); // its notice reached the controller first
    expect(await controller!.wait(fast.job_id, { timeoutMs: 10_000 })).toMatchObject({ result: { fast: true } });
    // A create that finds the job final (a duplicate submit) registers nothing and changes nothing.
    await controller!.create({ ...fast, status: 'pending' }, { waiting: true });
    expect(await controller!.get(fast.job_id)).toMatchObject({ status: 'completed' });
    expect(await raw.call('HEXISTS', controller!.key(fast.job_id), 'waiters')).toBe(0);
  });

  it("a result published while the waits' channel was down reaches a wait registered by the create", async () => {
    const [controller, worker] = sinks(2);
    await cycle(controller!); // the waits' channel is subscribed
    const rec = sampleRecord();
    await controller!.create(rec, { waiting: true });
    const channels = async () => (await raw.call('PUBSUB', 'CHANNELS', '*waiters:*')) as string[];
    const mine = (await channels()).length;
    await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    expect(await worker!.publish(done(rec, { missed: true }))).toBe(true); // heard by nobody
    await eventually(async () => expect((await channels()).length).toBe(mine), 5_000); // subscribed again
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    expect(await controller!.wait(rec.job_id, { timeoutMs: 10_000 })).toMatchObject({ result: { missed: true } });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
  it('a wait whose notice never comes (an older worker that publishes only on result:{id}) ends by its re-read', async () => {
    const keyPrefix = uniquePrefix('rt');
    const controller = redisResults({ connection: server.url, keyPrefix, waitRecheckMs: 100 });
    open.push(controller);
    const rec = sampleRecord();
    await controller.create(rec, { waiting: true });
    const waiting = controller.wait(rec.job_id, { timeoutMs: 60_000 });
    await eventually(async () => expect(controller.waiting()).toBe(1), 2_000);
    // What an older worker writes: the record, no publish to the waiting host's channel.
    await raw.hset(
      controller.key(rec.job_id),
      'record',
      JSON.stringify(done(rec, { old: true })),
      'status',
      'completed',
    );
    const t0 = Date.now();
    expect(await waiting).toMatchObject({ status: 'completed', result: { old: true } });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
