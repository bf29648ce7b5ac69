import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimitStore } from '@nanogrid/core';
import { redisRateLimitStore } from '../src/index.js';
import { redisTestEnv, startRedisServer, uniquePrefix } from './redis-server.js';
import type { LocalRedis } from './redis-server.js';

const env = redisTestEnv();

describe.skipIf(!env.ready)('redisRateLimitStore on a real redis-server', () => {
  let server: LocalRedis;
  const open: RateLimitStore[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close?.()));
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const stores = (n: number) => {
    const keyPrefix = uniquePrefix('rl');
    return Array.from({ length: n }, () => {
      const s = redisRateLimitStore({ connection: server.url, keyPrefix });
      open.push(s);
      return s;
    });
  };

  it('two stores (two controllers) count one window per key together', async () => {
    const [a, b] = stores(2);
    const counts: number[] = [];
    const resets: number[] = [];
    let t0 = 0;
    let t1 = 0;
    for (let i = 0; i < 6; i += 1) {
      if (i === 0) t0 = Date.now();
      const r = await (i % 2 === 0 ? a! : b!).hit('ip:10.0.0.1', 60_000);
      if (i === 0) t1 = Date.now();
      counts.push(r.count);
      resets.push(r.resetAt);
    }
    expect(counts).toEqual([1, 2, 3, 4, 5, 6]);
    // One window: every answer names (about) the same reset time, a minute after the first hit.
    expect(Math.max(...resets) - Math.min(...resets)).toBeLessThan(1_000);
    expect(resets[0]!).toBeGreaterThanOrEqual(t0 + 59_000);
    expect(resets[0]!).toBeLessThanOrEqual(t1 + 60_000);
    // Another key has its own count.
    expect((await b!.hit('ip:10.0.0.2', 60_000)).count).toBe(1);
  });

  it('concurrent hits from both stores are all counted exactly once', async () => {
    const [a, b] = stores(2);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a! : b!).hit('ip:burst', 60_000)));
    expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('a new window starts after windowMs', async () => {
    const [a, b] = stores(2);
    await a!.hit('ip:w', 200);
    expect((await b!.hit('ip:w', 200)).count).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    const next = await b!.hit('ip:w', 200);
    expect(next.count).toBe(1);
    expect(next.resetAt - Date.now()).toBeGreaterThan(100);
  });
});
