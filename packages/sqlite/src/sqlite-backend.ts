import { type SqliteDatabaseOptions, openSqliteDatabase } from './sqlite-database.js';
import { type SqliteQueue, sqliteQueue } from './sqlite-queue.js';
import { type SqliteResults, sqliteResults } from './sqlite-results.js';
import type { RateLimitStore } from '@nanogrid/core';
import { sqliteRateLimitStore } from './sqlite-rate-limit-store.js';

export interface SqliteBackendOptions extends SqliteDatabaseOptions {
  /** How long a received job stays invisible before it is delivered again. @default 300_000 */
  visibilityTimeoutMs?: number;
  /** Deliveries after which a job goes to the dead letters. @default 3 */
  maxAttempts?: number;
  /** Seconds a job record is kept after its last write. @default 86400 */
  ttlSec?: number;
  /** Byte budget of the queue (`limits.maxQueuedBytes`). @default 128 MiB */
  maxQueuedBytes?: number;
  /** Byte budget of the job records (`limits.maxStoredResultBytes`). @default 256 MiB */
  maxStoredResultBytes?: number;
}

/** The three durable stores of one host, sharing one database file. */
export interface SqliteBackend {
  queue: SqliteQueue;
  results: SqliteResults;
  rateLimitStore: RateLimitStore;
}

/**
 * Queue, job records and rate-limit counters in one SQLite file (WAL mode,
 * owned by this process). The file closes when all three stores are closed.
 */
export function sqliteBackend(opts: SqliteBackendOptions): SqliteBackend {
  const database = openSqliteDatabase(opts);
  try {
    return {
      queue: sqliteQueue({
        database,
        ...(opts.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
        ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
        ...(opts.maxQueuedBytes !== undefined ? { maxBytes: opts.maxQueuedBytes } : {}),
      }),
      results: sqliteResults({
        database,
        ...(opts.ttlSec !== undefined ? { ttlSec: opts.ttlSec } : {}),
        ...(opts.maxStoredResultBytes !== undefined ? { maxBytes: opts.maxStoredResultBytes } : {}),
      }),
      rateLimitStore: sqliteRateLimitStore({ database }),
    };
  } catch (err) {
    database.db.close(); // a store failed part-way: nobody else holds the file
    throw err;
  }
}
