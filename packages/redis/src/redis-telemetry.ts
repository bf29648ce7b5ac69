import type { CounterUpdate, HostInfo, ResultSink } from '@nanogrid/core';
import type { RedisLink } from './connection.js';
import { LUA_NOW_MS, LuaScript } from './lua-script.js';

/**
 * Applies counter updates: KEYS the counter hashes; ARGV[1] TTL ms, then per key the number of
 * added fields, their field/value pairs, the number of max fields and theirs. One script, so
 * each key's update is atomic and all of them cost one round trip.
 */
const BUMP = new LuaScript(`local ttl = ARGV[1]
local j = 2
for _, key in ipairs(KEYS) do
  local adds = tonumber(ARGV[j]); j = j + 1
  for _ = 1, adds do
    redis.call('HINCRBYFLOAT', key, ARGV[j], ARGV[j + 1]); j = j + 2
  end
  local maxes = tonumber(ARGV[j]); j = j + 1
  for _ = 1, maxes do
    local cur = tonumber(redis.call('HGET', key, ARGV[j]))
    if cur == nil or tonumber(ARGV[j + 1]) > cur then redis.call('HSET', key, ARGV[j], ARGV[j + 1]) end
    j = j + 2
  end
  redis.call('PEXPIRE', key, ttl)
end
return 1`);

/** HGETALL of every key (flat field/value arrays), in order. */
const READ = new LuaScript(`local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out`);

/** Heartbeat: KEYS[1] the host's entry, KEYS[2] the set of hosts by expiry; ARGV id, JSON, TTL ms. Server clock. */
const BEAT = new LuaScript(`${LUA_NOW_MS}
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
local longest = tonumber(redis.call('PTTL', KEYS[2]))
if longest < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return 1`);

/** Live hosts: drops expired ids from KEYS[1] (the set), returns the entries of the rest; ARGV[1] the entry key prefix. */
const HOSTS = new LuaScript(`${LUA_NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then out[#out + 1] = v end
end
return out`);

/** Counter hashes read per script call (a 24 h window of one function is 1440). */
const READ_BATCH = 500;

/** The counters and presence entries of `redisResults`, under the link's key prefix. */
export function redisTelemetry(
  link: RedisLink,
): Required<Pick<ResultSink, 'bumpCounters' | 'readCounters' | 'heartbeat' | 'hosts'>> {
  const counterKey = (key: string) => `${link.prefix}ctr:${key}`;
  const hostPrefix = `${link.prefix}host:`;
  const hostSet = `${link.prefix}hosts`;
  return {
    async bumpCounters(updates: CounterUpdate[], ttlMs: number) {
      if (updates.length === 0) return;
      const args: (string | number)[] = [Math.max(1, Math.ceil(ttlMs))];
      for (const u of updates) {
        const add = Object.entries(u.add ?? {});
        const max = Object.entries(u.max ?? {});
        args.push(add.length, ...add.flatMap(([f, n]) => [f, String(n)]));
        args.push(max.length, ...max.flatMap(([f, n]) => [f, String(n)]));
      }
      await link.run((c) =>
        BUMP.run(
          c,
          updates.map((u) => counterKey(u.key)),
          args,
        ),
      );
    },
    async readCounters(keys: string[]) {
      const out: Record<string, number>[] = [];
      for (let i = 0; i < keys.length; i += READ_BATCH) {
        const batch = keys.slice(i, i + READ_BATCH).map(counterKey);
        const hashes = (await link.run((c) => READ.run(c, batch, []))) as string[][];
        for (const flat of hashes) {
          const entries: [string, number][] = [];
          for (let j = 0; j + 1 < flat.length; j += 2) entries.push([flat[j] as string, Number(flat[j + 1])]);
          out.push(Object.fromEntries(entries));
        }
      }
      return out;
    },
    async heartbeat(host: HostInfo, ttlMs: number) {
      await link.run((c) =>
        BEAT.run(c, [hostPrefix + host.id, hostSet], [host.id, JSON.stringify(host), Math.max(1, Math.ceil(ttlMs))]),
      );
    },
    async hosts() {
      const texts = (await link.run((c) => HOSTS.run(c, [hostSet], [hostPrefix]))) as string[];
      return texts.map((t) => JSON.parse(t) as HostInfo);
    },
  };
}
