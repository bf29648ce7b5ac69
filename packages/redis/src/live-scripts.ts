import { LuaScript } from './lua-script.js';

/**
 * Appends log lines (JSON texts) to a job's list, at most ARGV[2] lines in
 * all, keeps it ARGV[1] seconds, and PUBLISHes `{"from": <index of the first>,
 * "lines": [...]}` on ARGV[3], so a follower can tell lines it already read.
 * KEYS[1] the list; ARGV[4..] the lines. Returns the list's length.
 */
export const APPEND_LOGS = new LuaScript(`local n = redis.call('LLEN', KEYS[1])
local room = tonumber(ARGV[2]) - n
if room <= 0 then return n end
local take = math.min(room, #ARGV - 3)
if take <= 0 then return n end
local lines = {}
for i = 1, take do lines[i] = ARGV[i + 3] end
redis.call('RPUSH', KEYS[1], unpack(lines))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], '{"from":' .. n .. ',"lines":[' .. table.concat(lines, ',') .. ']}')
return n + take`);

/** One consistent read of a job's lines from index ARGV[1] on (KEYS[1]) and its record (KEYS[2]). */
export const LOG_SNAPSHOT = new LuaScript(
  `return { redis.call('LRANGE', KEYS[1], ARGV[1], -1), redis.call('HGET', KEYS[2], 'record') }`,
);
