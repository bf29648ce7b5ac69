import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not
 * know it yet (first use, or after a restart flushed the script cache).
 * Does not touch the client (no `defineCommand`), so a client passed in by the
 * user is left as it was.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(c: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    const argv = [...keys, ...args.map(String)];
    try {
      return await c.call('EVALSHA', [this.sha, keys.length, ...argv]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return c.call('EVAL', [this.source, keys.length, ...argv]);
    }
  }
}

/** Lua: the server's clock in ms, so delays and leases do not depend on each worker's clock. */
export const LUA_NOW_MS = `local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
`;
