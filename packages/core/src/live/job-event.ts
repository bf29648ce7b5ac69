import type { JobRecord } from '../job.js';

/** A result bigger than this (its JSON) is left out of job events: GET /jobs/{id} has it. */
export const JOB_EVENT_MAX_RESULT_BYTES = 16 * 1024;

/**
 * The record a job event carries: without `logs` (live logs have their own
 * stream) and without a large `result`, so a busy host's events stay small.
 */
export function jobEventRecord(record: JobRecord): JobRecord {
  const big = record.result !== undefined && (JSON.stringify(record.result)?.length ?? 0) > JOB_EVENT_MAX_RESULT_BYTES;
  if (record.logs === undefined && !big) return record; // the same object: nothing to leave out
  const { logs: _logs, ...rest } = record;
  if (!big) return rest;
  const { result: _result, ...small } = rest;
  return small;
}
