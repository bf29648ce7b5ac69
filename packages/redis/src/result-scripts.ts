import { LuaScript } from './lua-script.js';

/** SET NX PX, else the holder's value: KEYS[1] the claim, ARGV[1] value, ARGV[2] TTL ms. Returns false when taken. */
export const CLAIM = new LuaScript(`if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`);

const IS_FINAL = `local function final(st) return st == 'completed' or st == 'failed' or st == 'cancelled' end
`;

/**
 * Writes a job record unless the stored one is final, in one round trip with everything that goes with it.
 * KEYS[1] the job hash (`status`, `record` JSON, `v` version, `waiters`); KEYS[2], KEYS[3] the recent-jobs
 * indexes (all jobs, the function's). ARGV[1] the version the caller read ('0' = absent, '*' = any),
 * ARGV[2] status, ARGV[3] record JSON, ARGV[4] TTL seconds, ARGV[5] channel to PUBLISH a final record on
 * ('' = none), ARGV[6] channel of job events ('' = none), ARGV[7] the event's JSON ('' = the record's),
 * ARGV[8] the index member ('' = not indexed), ARGV[9] the oldest member kept in the indexes, ARGV[10] a
 * host channel to add to `waiters` with a record that is not final ('' = none: a sync call's create).
 * A final record is also published on each channel in `waiters` (hosts with a pending wait), which are then
 * forgotten. A new hash's version starts from the server's clock, so a record that expired and was made again
 * under the same id does not take up the old version numbers a writer may still hold.
 * Returns {1, new version} written, {0, record, version} changed since read (merge again with these),
 * {-1, record} already final. The version check makes read-merge-write atomic without merging JSON in Lua
 * (cjson turns `[]` into `{}`).
 */
export const WRITE_RECORD = new LuaScript(`${IS_FINAL}
local cur = redis.call('HMGET', KEYS[1], 'status', 'v', 'waiters', 'record')
if final(cur[1]) then return { -1, cur[4] } end
if ARGV[1] ~= '*' and (cur[2] or '0') ~= ARGV[1] then return { 0, cur[4], cur[2] or '0' } end
local v
if cur[2] then
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'record', ARGV[3])
  v = redis.call('HINCRBY', KEYS[1], 'v', 1)
else
  local t = redis.call('TIME')
  v = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'record', ARGV[3], 'v', v)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
if final(ARGV[2]) then
  if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[3]) end
  if cur[3] then
    for ch in string.gmatch(cur[3], '[^\\n]+') do redis.call('PUBLISH', ch, ARGV[3]) end
    redis.call('HDEL', KEYS[1], 'waiters')
  end
end
if ARGV[10] and ARGV[10] ~= '' and not final(ARGV[2]) then
  local w = cur[3] or '\\n'
  if not string.find(w, '\\n' .. ARGV[10] .. '\\n', 1, true) then redis.call('HSET', KEYS[1], 'waiters', w .. ARGV[10] .. '\\n') end
end
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7] ~= '' and ARGV[7] or ARGV[3]) end
if ARGV[8] ~= '' then
  for i = 2, 3 do
    redis.call('ZADD', KEYS[i], 0, ARGV[8])
    redis.call('ZREMRANGEBYLEX', KEYS[i], '-', '(' .. ARGV[9])
    redis.call('EXPIRE', KEYS[i], ARGV[4])
  end
end
return { 1, v }`);

/**
 * A host's wait on a job: KEYS[1] the job hash; ARGV[1] the host's channel, ARGV[2] TTL seconds. Unless the
 * record is final, adds the channel to `waiters` (newline-separated, once), so the final write publishes the
 * record there; a hash made only for this expires like a record. Returns the record as it is (nil: none yet).
 * Registering and reading in one script leaves no gap for a final record to slip through unheard.
 */
export const REGISTER_WAIT = new LuaScript(`${IS_FINAL}
local cur = redis.call('HMGET', KEYS[1], 'status', 'record', 'waiters')
if final(cur[1]) then return cur[2] end
local w = cur[3] or '\\n'
if not string.find(w, '\\n' .. ARGV[1] .. '\\n', 1, true) then
  redis.call('HSET', KEYS[1], 'waiters', w .. ARGV[1] .. '\\n')
  if not cur[2] and redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
end
return cur[2]`);
