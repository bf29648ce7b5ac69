import type { JobStatus } from '@nanogrid/core';

/** A job record as this store last wrote it: its JSON, and what reads check without parsing it. */
export interface CachedRecord {
  json: string;
  status: JobStatus;
  final: boolean;
  expiresAt: number;
}

/**
 * The job records a SQLite result store wrote last, the newest `max` of them. The file is held by one host (an
 * exclusive lock) and its job records by one store, so the row of a job this store wrote is the one a query would
 * find: a job's running update, its publish, a sync caller's wait and the run's cancel watch read it here instead
 * of a query each (and a parse of the row for the last two). A miss is a query, as before. A write whose group is
 * rolled back (disk full) empties it, so it never answers with a row the file does not have.
 */
export class RecordCache {
  private readonly rows = new Map<string, CachedRecord>();

  /** @param max records kept; past it the oldest written goes first. */
  constructor(private readonly max = 10_000) {}

  /** The record as last written, unless it has expired by `now` (then it is forgotten). */
  get(jobId: string, now: number): CachedRecord | undefined {
    const row = this.rows.get(jobId);
    if (row && row.expiresAt <= now) {
      this.rows.delete(jobId);
      return undefined;
    }
    return row;
  }

  set(jobId: string, row: CachedRecord): void {
    this.rows.delete(jobId); // to the newest end
    this.rows.set(jobId, row);
    if (this.rows.size > this.max) {
      const oldest = this.rows.keys().next().value;
      if (oldest !== undefined) this.rows.delete(oldest);
    }
  }

  get size(): number {
    return this.rows.size;
  }

  clear(): void {
    this.rows.clear();
  }
}
