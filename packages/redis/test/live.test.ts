import type { LogLine } from '@nanogrid/core';
import { eventually, sampleRecord } from '@nanogrid/core/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisResults } from '../src/index.js';
import { redisTestEnv, startRedisServer, uniquePrefix } from './redis-server.js';
import type { LocalRedis } from './redis-server.js';

const env = redisTestEnv();
const line = (i: number): LogLine => ({ stream: 'stdout', line: `line ${i}`, t: i });

/** Redis specifics of live logs: lost messages, messages nobody can read, the per-job bound and TTL. */
describe.skipIf(!env.ready)('redisResults live logs on a real redis-server', () => {
  let server: LocalRedis;
  let raw: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.dispose();
  });

  it('reads lines it missed on the channel back from the list, and ignores messages it cannot read', async () => {
    const keyPrefix = uniquePrefix('live');
    const worker = redisResults({ connection: server.url, keyPrefix });
    const controller = redisResults({ connection: server.url, keyPrefix });
    try {
      const rec = sampleRecord({ status: 'running' });
      await worker.create(rec);
      const heard: LogLine[] = [];
      const following = controller.followLogs!(rec.job_id, (l) => heard.push(...l), {
        signal: new AbortController().signal,
      });
      await eventually(async () => expect(controller.followers()).toBe(2), 5000); // its log and result channels
      // Lines that reach the list without their message (as if published while the subscriber reconnected).
      await raw.rpush(`${keyPrefix}logs:${rec.job_id}`, JSON.stringify(line(0)), JSON.stringify(line(1)));
      await raw.publish(`${keyPrefix}logs:${rec.job_id}`, 'not json {');
      await raw.publish(`${keyPrefix}logs:${rec.job_id}`, '"a string"');
      await worker.appendLogs!(rec.job_id, [line(2)]);
      await worker.publish({ ...rec, status: 'completed' });
      expect((await following)?.status).toBe('completed');
      expect(heard.map((l) => l.line)).toEqual(['line 0', 'line 1', 'line 2']);
    } finally {
      await Promise.all([worker.close(), controller.close()]);
    }
  });

  it('keeps at most maxLogLinesPerJob lines per job, expiring with the record', async () => {
    const keyPrefix = uniquePrefix('live');
    const sink = redisResults({ connection: server.url, keyPrefix, maxLogLinesPerJob: 5, ttlSec: 60 });
    try {
      const rec = sampleRecord({ status: 'running' });
      await sink.create(rec);
      await sink.appendLogs!(
        rec.job_id,
        Array.from({ length: 3 }, (_, i) => line(i)),
      );
      await sink.appendLogs!(
        rec.job_id,
        Array.from({ length: 4 }, (_, i) => line(3 + i)),
      );
      const key = `${keyPrefix}logs:${rec.job_id}`;
      expect(await raw.llen(key)).toBe(5);
      const ttl = await raw.ttl(key);
      expect(ttl).toBeGreaterThan(50);
      expect(ttl).toBeLessThanOrEqual(60);
      // A batch larger than one script call (1,000 lines) is split, in order.
      const big = sampleRecord({ status: 'running' });
      const many = redisResults({ connection: server.url, keyPrefix, maxLogLinesPerJob: 5000 });
      await many.appendLogs!(
        big.job_id,
        Array.from({ length: 2500 }, (_, i) => line(i)),
      );
      const stored = await raw.lrange(`${keyPrefix}logs:${big.job_id}`, 0, -1);
      expect(stored.map((s) => (JSON.parse(s) as LogLine).line)).toEqual(
        Array.from({ length: 2500 }, (_, i) => `line ${i}`),
      );
      await many.close();
    } finally {
      await sink.close();
    }
  });
});
