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

/** One request counted: the headers its answer carries, and the refusal when it is over the limit. */
export interface RateLimitHit {
  headers: Record<string, string>;
  error?: NanoGridError;
}

/**
 * Counts a request of `key` (the client IP): the check both the middleware and
 * the `POST /run` path served straight from Node's server use. If the store is
 * down the request is let through (logged, no headers).
 */
export function rateLimitCheck(opts: Omit<RateLimitOptions, 'keyOf'>): (key: string) => Promise<RateLimitHit> {
  const now = opts.now ?? Date.now;
  const windowSec = Math.ceil(opts.windowMs / 1000);
  return async (key) => {
    let hit: { count: number; resetAt: number };
    try {
      hit = await opts.store.hit(`ip:${key}`, opts.windowMs);
    } catch (err) {
      opts.logger.warn('rate-limit store failed; request let through', {
        store: opts.store.name,
        error: (err as Error).message,
      });
      return { headers: {} };
    }
    const resetSec = Math.max(0, Math.ceil((hit.resetAt - now()) / 1000));
    const headers: Record<string, string> = {
      'RateLimit-Policy': `${opts.max};w=${windowSec}`,
      'RateLimit-Limit': String(opts.max),
      'RateLimit-Remaining': String(Math.max(0, opts.max - hit.count)),
      'RateLimit-Reset': String(resetSec),
    };
    if (hit.count <= opts.max) return { headers };
    headers['Retry-After'] = String(resetSec);
    const error = new NanoGridError(
      'RATE_LIMITED',
      `more than ${opts.max} requests in ${windowSec} s from this address; retry in ${resetSec} s`,
      { details: { limit: opts.max, window_sec: windowSec, retry_after_sec: resetSec } },
    );
    return { headers, error };
  };
}

/**
 * Fixed-window limit per client. Answers carry the IETF `RateLimit-*` headers;
 * a refusal is 429 RATE_LIMITED with `Retry-After`. If the store is down the
 * request is let through (logged): an outage of the counter must not become an
 * outage of the API.
 */
export function rateLimit(opts: RateLimitOptions): MiddlewareHandler {
  const check = rateLimitCheck(opts);
  return async (c, next) => {
    const { headers, error } = await check(opts.keyOf(c));
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    if (error) throw error;
    return next();
  };
}
