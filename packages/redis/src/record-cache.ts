import type { JobRecord } from '@nanogrid/core';

/** A record as this process last wrote it, with the version Redis gave the write. */
export interface CachedRecord {
  record: JobRecord;
  version: string;
}

/**
 * The records this process wrote last, by job id, so its next write of the same job (the running update after
 * the create, the final record after the running one) skips the read: the write script checks the version and
 * answers the current record when another writer got there first, so a stale entry costs a retry, never a lost
 * write. Bounded in entries and bytes (oldest out first); a final record is dropped, since nothing writes after
 * it. Holds JSON text, so a caller cannot change a cached record through an object it kept.
 */
export class RecordCache {
  private readonly entries = new Map<string, { json: string; version: string }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 4096,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  get(jobId: string): CachedRecord | undefined {
    const e = this.entries.get(jobId);
    return e ? { record: JSON.parse(e.json) as JobRecord, version: e.version } : undefined;
  }

  set(jobId: string, json: string, version: string): void {
    this.delete(jobId);
    if (json.length > this.maxBytes / 4) return; // a huge record is read again rather than crowding out the rest
    this.entries.set(jobId, { json, version });
    this.bytes += json.length;
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= e.json.length;
    }
  }

  delete(jobId: string): void {
    const e = this.entries.get(jobId);
    if (!e) return;
    this.entries.delete(jobId);
    this.bytes -= e.json.length;
  }

  /** Entries held (for tests). */
  size(): number {
    return this.entries.size;
  }
}
