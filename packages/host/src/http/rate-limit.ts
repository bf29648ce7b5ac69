import { type Logger, type RateLimitStore, NanoGridError } from '@nanogrid/core';
import type { Context, MiddlewareHandler } from 'hono';

export interface RateLimitOptions {
  store: RateLimitStore;
  /** Requests allowed per key and window. */
  max: number;
  windowMs: number;
  /** The bucket of a request (the client IP). */
  keyOf: (c: Context) => string;
  logger: Logger;
  /** Clock for `RateLimit-Reset`; must match the store's. @default Date.now */
  now?: () => number;
}

/**
 * Fixed-window limit per client. Answers carry the IETF `RateLimit-*` headers;
 * a refusal is 429 RATE_LIMITED with `Retry-After`. If the store is down the
 * request is let through (logged): an outage of the counter must not become an
 * outage of the API.
 */
export function rateLimit(opts: RateLimitOptions): MiddlewareHandler {
  const now = opts.now ?? Date.now;
  const windowSec = Math.ceil(opts.windowMs / 1000);
  return async (c, next) => {
    let hit: { count: number; resetAt: number };
    try {
      hit = await opts.store.hit(`ip:${opts.keyOf(c)}`, opts.windowMs);
    } catch (err) {
      opts.logger.warn('rate-limit store failed; request let through', {
        store: opts.store.name,
        error: (err as Error).message,
      });
      return next();
    }
    const resetSec = Math.max(0, Math.ceil((hit.resetAt - now()) / 1000));
    c.header('RateLimit-Policy', `${opts.max};w=${windowSec}`);
    c.header('RateLimit-Limit', String(opts.max));
    c.header('RateLimit-Remaining', String(Math.max(0, opts.max - hit.count)));
    c.header('RateLimit-Reset', String(resetSec));
    if (hit.count > opts.max) {
      c.header('Retry-After', String(resetSec));
      throw new NanoGridError(
        'RATE_LIMITED',
        `more than ${opts.max} requests in ${windowSec} s from this address; retry in ${resetSec} s`,
        {
          details: { limit: opts.max, window_sec: windowSec, retry_after_sec: resetSec },
        },
      );
    }
    return next();
  };
}
