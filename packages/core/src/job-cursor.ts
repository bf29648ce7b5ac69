import { NanoGridError } from './errors.js';
import type { JobRecord } from './job.js';
import type { JobQuery } from './plugins/result-sink.js';

/** A position in the newest-first job order: created time, then job id (both descending). */
export interface JobPosition {
  created_at: string;
  job_id: string;
}

/** The cursor a page ends with: opaque to clients (base64url of the last job's position). */
export function encodeJobCursor(p: JobPosition): string {
  return Buffer.from(JSON.stringify([p.created_at, p.job_id])).toString('base64url');
}

/** Reads a cursor back; a tampered or foreign one is a BAD_REQUEST, never a crash. */
export function decodeJobCursor(cursor: string): JobPosition {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return { created_at: v[0], job_id: v[1] };
  } catch {
    // falls through to the error below
  }
  throw new NanoGridError('BAD_REQUEST', 'cursor is not one this server returned; pass next_cursor as it came', {
    details: { field: 'cursor' },
  });
}

/** Newest first: later created_at first, then the larger job id. */
export function newestFirst(a: JobPosition, b: JobPosition): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.job_id < b.job_id ? 1 : a.job_id > b.job_id ? -1 : 0;
}

/** Whether a record matches the query's filters (function, status, since, after the cursor). */
export function matchesJobQuery(
  r: Pick<JobRecord, 'function_id' | 'status' | 'created_at' | 'job_id'>,
  q: JobQuery,
  after?: JobPosition,
): boolean {
  if (q.function_id !== undefined && r.function_id !== q.function_id) return false;
  if (q.status !== undefined && r.status !== q.status) return false;
  if (q.since !== undefined && r.created_at < q.since) return false;
  return after === undefined || newestFirst(after, r) < 0;
}
