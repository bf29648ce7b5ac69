import type { RateLimitStore } from '@nanogrid/core';
import { type SqliteSource, useDatabase } from './use-database.js';

export interface SqliteRateLimitStoreOptions extends SqliteSource {
  /** Plugin name shown in logs and errors. @default 'sqlite-rate-limit' */
  name?: string;
  /** Clock in epoch ms; tests pass a fake one. @default Date.now */
  now?: () => number;
}

const SWEEP_EVERY_MS = 60_000;

/**
 * Fixed-window request counters in the host's SQLite file: a client's count
 * survives a restart of the host, so restarting does not reset its limit.
 */
export function sqliteRateLimitStore(opts: SqliteRateLimitStoreOptions): RateLimitStore {
  const name = opts.name ?? 'sqlite-rate-limit';
  const now = opts.now ?? Date.now;
  const database = useDatabase(opts, name);
  const { db } = database;
  let nextSweep = 0;
  let closed = false;
  const st = database.guard(name, () => ({
    // One statement: open a window, count in it, or start a new one when it ran out.
    hit: db.prepare<{ key: string; now: number; reset: number }>(
      `INSERT INTO rate_limits (key, count, reset_at) VALUES (@key, 1, @reset)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN rate_limits.reset_at <= @now THEN 1 ELSE rate_limits.count + 1 END,
         reset_at = CASE WHEN rate_limits.reset_at <= @now THEN excluded.reset_at ELSE rate_limits.reset_at END
       RETURNING count, reset_at`,
    ),
    sweep: db.prepare<[number]>('DELETE FROM rate_limits WHERE reset_at <= ?'),
  }));

  return {
    name,
    async hit(key: string, windowMs: number) {
      const t = now();
      const window = Math.max(1, Math.floor(windowMs));
      return database.write(name, () => {
        if (t >= nextSweep) {
          nextSweep = t + SWEEP_EVERY_MS;
          st.sweep.run(t);
        }
        const row = st.hit.get({ key, now: t, reset: t + window }) as { count: number; reset_at: number };
        return { count: row.count, resetAt: row.reset_at };
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      database.release();
    },
  };
}
