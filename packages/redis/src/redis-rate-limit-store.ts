import type { RateLimitStore } from '@nanogrid/core';
import { RedisLink } from './connection.js';
import type { RedisConnectionOptions } from './connection.js';
import { LuaScript } from './lua-script.js';

export interface RedisRateLimitStoreOptions extends RedisConnectionOptions {
  /** Plugin name shown in logs and errors. @default 'redis-rate-limit' */
  name?: string;
}

/**
 * KEYS[1] counter, ARGV[1] window ms. INCR, and PEXPIRE when the window opens,
 * in one round trip. The window lives in Redis (its TTL), so controllers with
 * skewed clocks still share one window per key. Returns { count, ms left }.
 */
const HIT = new LuaScript(`local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { n, ttl }`);

/**
 * Fixed-window request counter shared by every controller on the same Redis,
 * so the per-IP limit holds across the fleet. Keys: `{keyPrefix}ratelimit:{key}`.
 */
export function redisRateLimitStore(opts: RedisRateLimitStoreOptions = {}): RateLimitStore {
  const name = opts.name ?? 'redis-rate-limit';
  const link = new RedisLink(opts, name);
  return {
    name,
    async hit(key: string, windowMs: number) {
      const window = Math.max(1, Math.floor(windowMs));
      const [count, left] = (await link.run((c) => HIT.run(c, [`${link.prefix}ratelimit:${key}`], [window]))) as [
        number,
        number,
      ];
      return { count: Number(count), resetAt: Date.now() + Number(left) };
    },
    async close() {
      await link.close();
    },
  };
}
