import { eventually, sampleRecord } from '@nanogrid/core/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisResults } from '../src/index.js';
import { REGISTER_WAIT } from '../src/result-scripts.js';
import type { RedisResults, RedisResultsOptions } from '../src/index.js';
import { done, redisTestEnv, startRedisServer, uniquePrefix } from './redis-server.js';
import type { LocalRedis } from './redis-server.js';

const env = redisTestEnv();

describe.skipIf(!env.ready)('redisResults on a real redis-server', () => {
  let server: LocalRedis;
  let raw: Redis;
  const open: RedisResults[] = [];
  const extraClients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    for (const c of extraClients.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.dispose();
  });

  /** Sinks of two "controllers" sharing one Redis and prefix. */
  const sinks = (n: number, extra: Partial<RedisResultsOptions> = {}) => {
    const keyPrefix = extra.keyPrefix ?? uniquePrefix('r');
    return Array.from({ length: n }, () => {
      const s = redisResults({ connection: server.url, ...extra, keyPrefix });
      open.push(s);
      return s;
    });
  };

  it('keeps a record 24 h by default and refreshes the TTL on every write', async () => {
    const [s] = sinks(1);
    const rec = sampleRecord();
    await s!.create(rec);
    const ttl = Number(await raw.call('TTL', s!.key(rec.job_id)));
    expect(ttl).toBeGreaterThan(86_400 - 5);
    expect(ttl).toBeLessThanOrEqual(86_400);
    await raw.call('EXPIRE', s!.key(rec.job_id), 60);
    await s!.update(rec.job_id, { status: 'running' });
    expect(Number(await raw.call('TTL', s!.key(rec.job_id)))).toBeGreaterThan(86_400 - 5);
    expect(await raw.call('HGET', s!.key(rec.job_id), 'status')).toBe('running');
  });

  it('honours ttlSec', async () => {
    const [s] = sinks(1, { ttlSec: 120 });
    const rec = sampleRecord();
    await s!.create(rec);
    const ttl = Number(await raw.call('TTL', s!.key(rec.job_id)));
    expect(ttl).toBeGreaterThan(115);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('publishes the final record on result:{job_id}, readable by a plain subscriber', async () => {
    const [s] = sinks(1);
    const rec = sampleRecord();
    await s!.create(rec);
    const sub = new Redis(server.url);
    extraClients.push(sub);
    await sub.subscribe(`result:${rec.job_id}`);
    const heard = new Promise<string>((resolve) => sub.on('message', (_ch: string, msg: string) => resolve(msg)));
    expect(s!.channel(rec.job_id)).toBe(`result:${rec.job_id}`);
    await s!.publish(done(rec));
    expect(JSON.parse(await heard)).toMatchObject({ job_id: rec.job_id, status: 'completed', result: { ok: true } });
  });

  it('wait() hears a publish that lands right after it registered (its read answers stale)', async () => {
    const rec = sampleRecord();
    const keyPrefix = uniquePrefix('r');
    const [other] = sinks(1, { keyPrefix });
    await other!.create(rec);
    // A client whose registration of this job (register + read, one script) lets another controller
    // publish, then answers with the state from before the publish: only the waiters' channel can end the wait.
    const client = new Redis(server.url);
    extraClients.push(client);
    const call = client.call.bind(client) as (cmd: string, args: unknown[]) => Promise<unknown>;
    let raced = false;
    const registers = (cmd: string, args: unknown[]) =>
      (cmd === 'EVALSHA' && args[0] === REGISTER_WAIT.sha) || (cmd === 'EVAL' && args[0] === REGISTER_WAIT.source);
    (client as unknown as { call: typeof call }).call = async (cmd: string, args: unknown[]) => {
      if (!raced && registers(cmd, args) && String(args[2]).endsWith(rec.job_id)) {
        const stale = await call(cmd, args); // a NOSCRIPT throws here: its EVAL retry comes through this hook too
        raced = true;
        expect(await other!.publish(done(rec, { raced: true }))).toBe(true);
        return stale;
      }
      return call(cmd, args);
    };
    const s = redisResults({ connection: client, keyPrefix });
    open.push(s);
    const t0 = Date.now();
    const got = await s.wait(rec.job_id, { timeoutMs: 10_000 });
    expect(raced).toBe(true);
    expect(got).toMatchObject({ status: 'completed', result: { raced: true } });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('100 concurrent waiters on 100 jobs (and 100 on one job) share one subscriber connection and all resolve', async () => {
    const [controller, worker] = sinks(2);
    const before = String(await raw.call('CLIENT', 'LIST'))
      .trim()
      .split('\n').length;
    const recs = Array.from({ length: 100 }, () => sampleRecord());
    await Promise.all(recs.map((r) => controller!.create(r)));
    const shared = recs[0]!;
    const waits = [
      ...recs.map((r) => controller!.wait(r.job_id, { timeoutMs: 15_000 })),
      ...Array.from({ length: 100 }, () => controller!.wait(shared.job_id, { timeoutMs: 15_000 })),
    ];
    // Publish while waiters are still subscribing.
    const published = await Promise.all(recs.map((r, i) => worker!.publish(done(r, { i }))));
    expect(published.every(Boolean)).toBe(true);
    const got = await Promise.all(waits);
    got
      .slice(0, 100)
      .forEach((r, i) => expect(r).toMatchObject({ job_id: recs[i]!.job_id, status: 'completed', result: { i } }));
    expect(got.slice(100).every((r) => r?.job_id === shared.job_id && r.status === 'completed')).toBe(true);
    expect(controller!.waiting()).toBe(0);
    // controller: 1 command + 1 subscriber connection; worker: 1 command connection.
    expect(
      String(await raw.call('CLIENT', 'LIST'))
        .trim()
        .split('\n').length - before,
    ).toBeLessThanOrEqual(3);
    // Every channel was unsubscribed once its last waiter left.
    const numsub = (await raw.call('PUBSUB', 'NUMSUB', ...recs.map((r) => `result:${r.job_id}`))) as (
      | string
      | number
    )[];
    expect(numsub.filter((_, i) => i % 2 === 1).every((n) => Number(n) === 0)).toBe(true);
  });

  it('a result published while the subscriber connection is down is picked up when it reconnects', async () => {
    const [controller, worker] = sinks(2);
    const rec = sampleRecord();
    await controller!.create(rec);
    const waiting = controller!.wait(rec.job_id, { timeoutMs: 15_000 });
    await eventually(async () => expect(controller!.waiting()).toBe(1), 2_000);
    // Drop every pub/sub connection, then publish before ioredis reconnects it: the message is lost
    // on the wire, and the waiter must re-read the state once it is subscribed again.
    await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    const t0 = Date.now();
    expect(await worker!.publish(done(rec, { missed: 'message' }))).toBe(true);
    expect(await waiting).toMatchObject({ status: 'completed', result: { missed: 'message' } });
    // Well before the wait's own timeout (which would also read the final record).
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('update() that sets a final status also notifies waiters', async () => {
    const [s] = sinks(1);
    const rec = sampleRecord();
    await s!.create(rec);
    const waiting = s!.wait(rec.job_id, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await s!.update(rec.job_id, { status: 'failed', error: { code: 'TIMEOUT', message: 'too slow' } });
    expect(await waiting).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
  });

  it('close() answers pending waiters with the latest record', async () => {
    const [s] = sinks(1);
    const rec = sampleRecord();
    await s!.create(rec);
    const waiting = s!.wait(rec.job_id);
    await new Promise((r) => setTimeout(r, 50));
    await s!.close();
    expect(await waiting).toMatchObject({ job_id: rec.job_id, status: 'pending' });
  });

  it('publish() refuses a non-final record with BAD_REQUEST', async () => {
    const [s] = sinks(1);
    await expect(s!.publish(sampleRecord())).rejects.toMatchObject({ code: 'BAD_REQUEST', plugin: 'redis-results' });
  });

  it('a client passed in is used and left open by close()', async () => {
    const client = new Redis(server.url);
    extraClients.push(client);
    const s = redisResults({ connection: client, keyPrefix: uniquePrefix('r') });
    const rec = sampleRecord();
    await s.create(rec);
    await s.close();
    expect(client.status).toBe('ready');
    expect(await client.call('HGET', s.key(rec.job_id), 'status')).toBe('pending');
  });
});
