import { LuaScript } from './lua-script.js';

/**
 * Writes a job record unless the stored one is final. KEYS[1] the job hash
 * (`status`, `record` JSON, `v` version). ARGV[1] the version the caller read
 * ('0' = absent, '*' = any), ARGV[2] status, ARGV[3] record JSON, ARGV[4] TTL
 * seconds, ARGV[5] channel to PUBLISH the record on ('' = none), ARGV[6] channel of job
 * events ('' = none) and ARGV[7] the event's JSON ('' = the record's).
 * Returns 1 written, 0 changed since read (merge again), -1 already final.
 * The version check makes read-merge-write atomic without merging JSON in Lua
 * (cjson turns `[]` into `{}`).
 */
/** SET NX PX, else the holder's value: KEYS[1] the claim, ARGV[1] value, ARGV[2] TTL ms. Returns false when taken. */
export const CLAIM = new LuaScript(`if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`);

export const WRITE_RECORD = new LuaScript(`local cur = redis.call('HMGET', KEYS[1], 'status', 'v')
local st = cur[1]
if st == 'completed' or st == 'failed' or st == 'cancelled' then return -1 end
if ARGV[1] ~= '*' and (cur[2] or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'record', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[3]) end
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7] ~= '' and ARGV[7] or ARGV[3]) end
return 1`);
