import { NanoGridError } from '../errors.js';
import { type JobRecord, type JobStatus, isFinalStatus } from '../job.js';
import type { LogLine, ResultSink } from '../plugins/result-sink.js';

/** A final record's `logs` text as lines (a store that kept no live lines, or no longer keeps them). */
export function storedLogLines(record: JobRecord): LogLine[] {
  const text = record.logs ?? '';
  if (text === '') return [];
  const t = Date.parse(record.finished_at ?? record.updated_at) || Date.now();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  // The record's logs mix both streams (stdout first): they are shown as stdout.
  return lines.map((line) => ({ stream: 'stdout', line, t }));
}

/**
 * Follows a job's logs until it is final: its live lines (or, when the store
 * kept none, its record's logs once it ends), then the final record. Works on
 * any store: one without live logs waits for the end. Resolves undefined when
 * `signal` aborts first. The caller checked that the job exists.
 */
export async function followJob(
  results: ResultSink,
  jobId: string,
  onLines: (lines: LogLine[]) => void,
  signal: AbortSignal,
): Promise<JobRecord | undefined> {
  let heard = 0;
  const end = results.followLogs
    ? await results.followLogs(
        jobId,
        (lines) => {
          heard += lines.length;
          onLines(lines);
        },
        { signal },
      )
    : await results.wait(jobId, { signal });
  if (!end || !isFinalStatus(end.status) || signal.aborted) return undefined;
  if (heard === 0) {
    const stored = storedLogLines(end);
    if (stored.length > 0) onLines(stored);
  }
  return end;
}

/**
 * A job's lines so far (live lines the store keeps; for a final job without
 * them, its record's logs) and its record as it is now; undefined for an unknown job.
 */
export async function jobLogsNow(
  results: ResultSink,
  jobId: string,
): Promise<{ record: JobRecord; lines: LogLine[] } | undefined> {
  const lines: LogLine[] = [];
  const record = results.followLogs
    ? await results.followLogs(jobId, (l) => lines.push(...l), { signal: new AbortController().signal, live: false })
    : await results.get(jobId);
  if (!record) return undefined;
  if (lines.length === 0 && isFinalStatus(record.status)) lines.push(...storedLogLines(record));
  return { record, lines };
}

/** Which job events a watcher wants (the filters of GET /jobs). */
export interface JobWatchFilter {
  function_id?: string;
  status?: JobStatus;
}

/** Job status changes matching `filter`, until `signal` aborts; BAD_REQUEST on a store without job events. */
export async function watchJobChanges(
  results: ResultSink,
  filter: JobWatchFilter,
  onJob: (record: JobRecord) => void,
  signal: AbortSignal,
): Promise<void> {
  if (!results.watchJobs) {
    throw new NanoGridError(
      'BAD_REQUEST',
      `the result store "${results.name}" has no job events; use the memory, SQLite or Redis store, or poll GET /jobs`,
      { plugin: results.name },
    );
  }
  await results.watchJobs(
    (record) => {
      if (filter.function_id !== undefined && record.function_id !== filter.function_id) return;
      if (filter.status !== undefined && record.status !== filter.status) return;
      onJob(record);
    },
    { signal },
  );
}
