import { describe, expect, it } from 'vitest';
import { memoryRateLimitStore } from '../src/index.js';

describe('memoryRateLimitStore', () => {
  it('counts per key in fixed windows and starts a new window after reset', async () => {
    let now = 5_000;
    const store = memoryRateLimitStore({ now: () => now });
    expect(await store.hit('a', 1000)).toEqual({ count: 1, resetAt: 6_000 });
    expect(await store.hit('a', 1000)).toEqual({ count: 2, resetAt: 6_000 });
    expect(await store.hit('b', 1000)).toEqual({ count: 1, resetAt: 6_000 });
    now = 6_000;
    expect(await store.hit('a', 1000)).toEqual({ count: 1, resetAt: 7_000 });
  });

  it('sweeps expired windows so idle clients do not pile up', async () => {
    let now = 0;
    const store = memoryRateLimitStore({ now: () => now, sweepEveryMs: 10 });
    for (let i = 0; i < 100; i++) await store.hit(`ip-${i}`, 5);
    expect(store.size).toBe(100);
    now = 20;
    await store.hit('fresh', 5);
    expect(store.size).toBe(1);
    expect(await store.hit('ip-1', 5)).toEqual({ count: 1, resetAt: 25 });
    await store.close?.();
  });
});
