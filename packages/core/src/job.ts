import type { ErrorCode } from './errors.js';

/** How an invocation started: a new instance, an instance kept from an earlier call, or a spare started ahead of demand. */
export type StartKind = 'cold' | 'warm' | 'prewarmed';

/** `cancelled`: stopped by `POST /jobs/{id}/cancel` (a pending job never ran, a running one was killed). */
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export function isFinalStatus(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** Why a job failed: a NanoGrid code plus, for user errors, the exception's type and trace. */
export interface JobError {
  code: ErrorCode;
  message: string;
  /** Exception class raised by the user's code (`ValueError`, `TypeError` …). */
  type?: string;
  trace?: string;
}

/**
 * The message a controller puts on the queue. The original's field names are kept
 * (`s3_key`, `timeout` in seconds) so existing producers keep working.
 */
export interface JobMessage {
  job_id: string;
  function_id: string;
  /** The version to run (set by controllers); absent: the latest when the worker picks it up. */
  function_version?: number;
  payload: unknown;
  /** Code location in storage; informative — the worker reads the function's metadata. */
  s3_key?: string;
  runtime?: string;
  handler?: string;
  /** Seconds; overrides the function's timeout when set. */
  timeout?: number;
  memory_mb?: number;
  /** ISO time the job was submitted. */
  submitted_at?: string;
  /** Where the final record is posted (checked at submit). */
  callback_url?: string;
  /** @default 'json' */
  callback_format?: CallbackFormat;
}

/** How a completion callback is written: the job record itself, or a Slack incoming-webhook message. */
export type CallbackFormat = 'json' | 'slack';

/** What started a job: an API call (`/run`, the Lambda API), an HTTP endpoint, or a schedule. */
export type JobTrigger = 'api' | 'http' | 'schedule';

/** Payloads up to this many bytes of JSON are kept in the job record; larger ones only by their size. */
export const JOB_PAYLOAD_KEPT_BYTES = 64 * 1024;

/** Job state as kept by a ResultSink and shown by `GET /status/:job_id`. */
export interface JobRecord {
  job_id: string;
  /** Absent means `api`. */
  trigger?: JobTrigger;
  function_id: string;
  function_name?: string;
  /** The version that runs (or ran) it. */
  function_version?: number;
  status: JobStatus;
  /** The event it was submitted with, kept when its JSON is at most JOB_PAYLOAD_KEPT_BYTES (the dashboard shows it). */
  payload?: unknown;
  /** Size of a payload too large to keep in the record, bytes of JSON. */
  payload_bytes?: number;
  created_at: string;
  updated_at: string;
  started_at?: string;
  finished_at?: string;
  result?: unknown;
  /**
   * Storage key of a result too large to keep in the record
   * (`limits.resultSpillBytes`): `/status` and `/run` load it back into `result`.
   */
  result_key?: string;
  /** Size of that stored result's JSON, bytes. */
  result_bytes?: number;
  error?: JobError;
  output_files: string[];
  /** Tail of the function's stderr (and of stdout in handler mode). */
  logs?: string;
  execution_time_ms?: number;
  peak_memory_bytes?: number;
  /** Delivery attempts seen by the worker. */
  attempts?: number;
  /** Worker that ran it. */
  worker?: string;
  /** Cold or warm start (set by sandboxes that keep instances). */
  start?: StartKind;
  /** Where the final record is posted when the job ends. */
  callback_url?: string;
  /** @default 'json' */
  callback_format?: CallbackFormat;
}

/** Fields a worker may change on a job while it runs. */
export type JobPatch = Partial<Omit<JobRecord, 'job_id' | 'function_id' | 'created_at'>>;
