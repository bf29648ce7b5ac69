import { LUA_NOW_MS, LuaScript } from './lua-script.js';

/*
 * Keys of one queue: KEYS are always passed in this order where used
 *   stream  – the Redis Stream holding waiting and in-flight messages (fields `job`, `attempts`)
 *   leases  – hash entry id → epoch ms until which extend() keeps it hidden
 *   delayed – sorted set of retried messages, scored by the time they become visible
 *   dead    – the dead-letter stream (fields `body`, `reason`, `attempts`, `source_id`, `at`)
 * Every script runs atomically, so two workers never both win one message.
 */

/**
 * True when the delivery still belongs to us: the entry is pending for our
 * consumer with the delivery count we handed out. A delivery that timed out and
 * was reclaimed (by anyone, ourselves included) is stale, and its ack / retry /
 * extend do nothing — like a stale receipt handle.
 * ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer, ARGV[4] delivery count.
 */
const OWNED = `local function owned()
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
  local e = p[1]
  return e ~= nil and e[2] == ARGV[3] and e[4] == tonumber(ARGV[4])
end
local function forget()
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
end
`;

/** KEYS stream, leases. Removes the message for good. */
export const ACK = new LuaScript(`${OWNED}
if not owned() then return 0 end
forget()
return 1`);

/**
 * KEYS stream, leases, delayed. ARGV[5] body, ARGV[6] attempts so far, ARGV[7] delay ms, ARGV[8] nonce.
 * The message is re-added (now, or through the delayed set) carrying its attempt count.
 */
export const RETRY = new LuaScript(`${OWNED}${LUA_NOW_MS}
if not owned() then return 0 end
forget()
local delay = tonumber(ARGV[7])
if delay <= 0 then
  redis.call('XADD', KEYS[1], '*', 'job', ARGV[5], 'attempts', ARGV[6])
else
  redis.call('ZADD', KEYS[3], now + delay, cjson.encode({ a = ARGV[6], j = ARGV[5], n = ARGV[8] }))
end
return 1`);

/** KEYS stream, leases, dead. ARGV[5] body, ARGV[6] reason, ARGV[7] attempts, ARGV[8] ISO time, ARGV[9] max dead letters kept. */
export const DEAD_LETTER = new LuaScript(`${OWNED}
if not owned() then return 0 end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[9], '*', 'body', ARGV[5], 'reason', ARGV[6], 'attempts', ARGV[7], 'source_id', ARGV[2], 'at', ARGV[8])
forget()
return 1`);

/**
 * KEYS stream, leases. ARGV[5] ms, ARGV[6] visibility timeout ms.
 * Redis can only move an entry's idle time back to 0 (a delivery time in the
 * future is clamped to now), so within the visibility timeout we set the idle
 * time exactly, and beyond it we also write a lease that RECLAIM honours.
 */
export const EXTEND = new LuaScript(`${OWNED}${LUA_NOW_MS}
if not owned() then return 0 end
local ms = tonumber(ARGV[5])
local v = tonumber(ARGV[6])
local idle = v - ms
if idle < 0 then idle = 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', idle, 'JUSTID')
if ms > v then redis.call('HSET', KEYS[2], ARGV[2], now + ms) else redis.call('HDEL', KEYS[2], ARGV[2]) end
return 1`);

/**
 * One receive's work before any blocking read, in one round trip. KEYS stream, leases, delayed.
 * ARGV[1] group, ARGV[2] consumer, ARGV[3] visibility ms, ARGV[4] how many, ARGV[5] pending entries
 * scanned, ARGV[6] scan start ('-' or '(id'), ARGV[7] most delayed retries moved.
 * 1. Moves due retries from the delayed set into the stream.
 * 2. Claims entries idle past the visibility timeout and not under a lease (a dead worker's jobs).
 * 3. Reads new entries for what is still wanted (XREADGROUP without BLOCK: a script never blocks).
 * Returns { next scan start, { {id, fields, delivery count}, ... }, ms until the next retry is due or -1 }.
 */
export const TAKE = new LuaScript(`${LUA_NOW_MS}
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))
for _, m in ipairs(due) do
  local d = cjson.decode(m)
  redis.call('XADD', KEYS[1], '*', 'job', d.j, 'attempts', d.a)
  redis.call('ZREM', KEYS[3], m)
end
local nextDue = -1
local nxt = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if nxt[2] then nextDue = math.max(0, tonumber(nxt[2]) - now) end
local want = tonumber(ARGV[4])
local scan = tonumber(ARGV[5])
local cands = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], ARGV[6], '+', scan)
local out = {}
local last = nil
for _, p in ipairs(cands) do
  if #out >= want then break end
  last = p[1]
  local lease = redis.call('HGET', KEYS[2], p[1])
  if not (lease and tonumber(lease) > now) then
    if lease then redis.call('HDEL', KEYS[2], p[1]) end
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], p[1])
    if c[1] and c[1][2] then out[#out + 1] = { c[1][1], c[1][2], p[4] + 1 } end
  end
end
local nextStart = '-'
if last and (#cands >= scan or #out >= want) then nextStart = '(' .. last end
if #out < want then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', want - #out, 'STREAMS', KEYS[1], '>')
  if r and r[1] then
    for _, e in ipairs(r[1][2]) do out[#out + 1] = { e[1], e[2], 1 } end
  end
end
return { nextStart, out, nextDue }`);

/**
 * KEYS stream, delayed. ARGV[1] group. Waiting = stream length − in flight + delayed:
 * acked and dead-lettered entries are deleted, so the stream holds only these two kinds.
 */
export const DEPTH = new LuaScript(`local len = redis.call('XLEN', KEYS[1])
local pending = 0
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(p) == 'table' and p.err == nil and p[1] then pending = p[1] end
return len - pending + redis.call('ZCARD', KEYS[2])`);

/** KEYS stream. ARGV[1] group, ARGV[2] consumer. Removes our consumer from the group when it holds nothing. */
export const LEAVE_GROUP = new LuaScript(`local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if type(p) ~= 'table' or p.err ~= nil or #p > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1`);
