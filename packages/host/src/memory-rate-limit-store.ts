import type { RateLimitStore } from '@nanogrid/core';

export interface MemoryRateLimitStoreOptions {
  /** Clock in epoch ms; tests pass a fake one. @default Date.now */
  now?: () => number;
  /** How often expired windows are swept, in ms of the store's clock. @default 60_000 */
  sweepEveryMs?: number;
}

/**
 * Fixed-window counters in this process: right for one controller. Several
 * controllers behind a load balancer need a shared store (Redis) for the limit
 * to hold per client rather than per controller.
 */
export interface MemoryRateLimitStore extends RateLimitStore {
  /** Keys with a window kept (expired ones go at the next sweep). */
  readonly size: number;
}

export function memoryRateLimitStore(opts: MemoryRateLimitStoreOptions = {}): MemoryRateLimitStore {
  const now = opts.now ?? Date.now;
  const sweepEveryMs = opts.sweepEveryMs ?? 60_000;
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = now() + sweepEveryMs;

  // Lazy sweep on hits instead of a timer: nothing keeps the process alive.
  const sweep = (t: number): void => {
    if (t < nextSweep) return;
    nextSweep = t + sweepEveryMs;
    for (const [key, w] of windows) if (w.resetAt <= t) windows.delete(key);
  };

  return {
    name: 'memory-rate-limit',
    get size() {
      return windows.size;
    },
    async hit(key, windowMs) {
      const t = now();
      sweep(t);
      let w = windows.get(key);
      if (!w || w.resetAt <= t) {
        w = { count: 0, resetAt: t + windowMs };
        windows.set(key, w);
      }
      w.count += 1;
      return { count: w.count, resetAt: w.resetAt };
    },
    async close() {
      windows.clear();
    },
  };
}
