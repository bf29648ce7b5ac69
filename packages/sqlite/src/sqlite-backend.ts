import { type SqliteDatabaseOptions, openSqliteDatabase } from './sqlite-database.js';
import { type SqliteQueue, sqliteQueue } from './sqlite-queue.js';
import { type SqliteResults, sqliteResults } from './sqlite-results.js';
import type { JobRecord, RateLimitStore } from '@nanogrid/core';
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
  /**
   * Fails the records of jobs that are not final and have no message in the
   * queue: jobs a previous process ran in-process (sync calls that skipped the
   * queue) or recorded but never queued, when it stopped. Nothing would run
   * them, so they would read pending or running for ever. Call it at start,
   * before the worker runs, when this file's queue and records are the host's.
   * Resolves with how many it failed.
   */
  failOrphans(): Promise<number>;
}

const ORPHAN_MESSAGE =
  'the host stopped while this job was in flight and nothing queued it (a sync call run in-process); it did not run again: call the function again';

/**
 * Queue, job records and rate-limit counters in one SQLite file (WAL mode,
 * owned by this process). The file closes when all three stores are closed.
 */
export function sqliteBackend(opts: SqliteBackendOptions): SqliteBackend {
  const database = openSqliteDatabase(opts);
  try {
    let results: SqliteResults;
    return {
      failOrphans: async () => {
        const rows = database.guard('sqlite-results', () =>
          database.db
            .prepare<[number]>(
              // A queued message names its job as job_id (or requestId, the "Plus" shape); raw bodies may be no JSON.
              `SELECT record FROM job_records WHERE final = 0 AND expires_at > ? AND job_id NOT IN (
                 SELECT id FROM (SELECT COALESCE(json_extract(body, '$.job_id'), json_extract(body, '$.requestId')) AS id
                   FROM queue_messages WHERE json_valid(body)) WHERE id IS NOT NULL)`,
            )
            .all(Date.now()),
        ) as { record: string }[];
        const now = new Date().toISOString();
        for (const { record } of rows) {
          const r = JSON.parse(record) as JobRecord;
          await results.publish({
            ...r,
            status: 'failed',
            updated_at: now,
            finished_at: now,
            error: { code: 'WORKER_LOST', message: ORPHAN_MESSAGE },
          });
        }
        return rows.length;
      },
      queue: sqliteQueue({
        database,
        ...(opts.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
        ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
        ...(opts.maxQueuedBytes !== undefined ? { maxBytes: opts.maxQueuedBytes } : {}),
      }),
      results: (results = sqliteResults({
        database,
        ...(opts.ttlSec !== undefined ? { ttlSec: opts.ttlSec } : {}),
        ...(opts.maxStoredResultBytes !== undefined ? { maxBytes: opts.maxStoredResultBytes } : {}),
      })),
      rateLimitStore: sqliteRateLimitStore({ database }),
    };
  } catch (err) {
    database.db.close(); // a store failed part-way: nobody else holds the file
    throw err;
  }
}
