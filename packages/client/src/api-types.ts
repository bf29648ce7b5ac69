/**
 * The shapes of the NanoGrid HTTP API. The host builds its answers with these
 * types, so a change on either side fails to compile.
 */

/** Every error code the API answers with (`error.code`). */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'BAD_JSON'
  | 'BAD_ARCHIVE'
  | 'ARCHIVE_PATH_TRAVERSAL'
  | 'ARCHIVE_LINK_ESCAPE'
  | 'ARCHIVE_TOO_MANY_ENTRIES'
  | 'ARCHIVE_TOO_LARGE'
  | 'HANDLER_NOT_FOUND'
  | 'UNSUPPORTED_FILE_TYPE'
  | 'RUNTIME_NOT_FOUND'
  | 'BUILD_FAILED'
  | 'UNAUTHORIZED'
  | 'LINK_INVALID'
  | 'FUNCTION_NOT_FOUND'
  | 'JOB_NOT_FOUND'
  | 'CONFLICT'
  | 'IDEMPOTENCY_CONFLICT'
  | 'CANCELLED'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'RATE_LIMITED'
  | 'TOO_MANY_REQUESTS'
  | 'FUNCTION_ERROR'
  | 'IMPORT_ERROR'
  | 'NON_ZERO_EXIT'
  | 'TIMEOUT'
  | 'OUT_OF_MEMORY'
  | 'OUTPUT_TOO_LARGE'
  | 'RESULT_TOO_LARGE'
  | 'BAD_RESULT'
  | 'SANDBOX_ERROR'
  | 'SANDBOX_UNAVAILABLE'
  | 'IMAGE_NOT_FOUND'
  | 'BAD_MESSAGE'
  | 'CONFIG_INVALID'
  | 'BACKEND_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'QUEUE_FULL'
  | 'RESULTS_FULL'
  | 'WORKER_LOST'
  | 'INTERNAL';

/** `{"error": {...}}`: the body of every error answer. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** The request field at fault (VALIDATION_FAILED and friends). */
    field?: string;
    details?: Record<string, unknown>;
  };
}

export type NetworkPolicy = 'none' | 'ai' | 'internet';

/** How a completion webhook is written: the job record, or a Slack incoming-webhook message. */
export type CallbackFormat = 'json' | 'slack';

/** One version of a function, as the API shows it (env values are never shown). */
export interface FunctionInfo {
  function_id: string;
  function_name: string;
  version: number;
  runtime: string;
  runtime_plugin: string;
  handler: string;
  entry_file: string;
  /** Seconds. */
  timeout: number;
  memory_mb: number;
  /** Space of a run's /tmp and /output together, MiB (absent on functions deployed before the quota). */
  disk_mb?: number;
  network: NetworkPolicy;
  max_concurrency?: number;
  /** `/fn/{name}/…` answers without an API key. */
  public?: true;
  /** API Gateway payload format of `/fn/{name}/…` events (absent: 1.0). */
  http_event?: '2.0';
  /** Origin of the default completion webhook of its jobs (the path is not shown: it may be a secret). */
  callback_url?: string;
  callback_format?: CallbackFormat;
  s3_key: string;
  code_sha256: string;
  code_size: number;
  created_at: string;
  env_keys: string[];
}

/** `GET /jobs`: a page of jobs, newest first. */
export interface JobList {
  jobs: Job[];
  /** Pass as `cursor` for the next page; absent on the last. */
  next_cursor?: string;
}

/** Filters of `GET /jobs`. */
/** `GET /jobs/{job_id}/logs` without follow. */
export interface JobLogs {
  job_id: string;
  status: JobStatus;
  /** The record's logs: the tail of what the job printed ('' while it runs). */
  logs: string;
  /** Its lines so far (while it runs, and for a while after; else the record's logs as lines). */
  lines: LogEvent[];
}

/** Data of a `log` event: one line the job printed. */
export interface LogEvent {
  stream: 'stdout' | 'stderr';
  /** Without its newline (cut past 8 KiB). */
  line: string;
  /** When the worker read it, ms since the epoch. */
  t: number;
}

/** Data of the `end` event: the job is final and the stream closes. */
export interface LogEnd {
  job_id: string;
  status: JobStatus;
  error?: JobError;
}

/** What `followLogs()` yields: the lines, then the end. */
export type LogStreamEvent = ({ type: 'log' } & LogEvent) | ({ type: 'end' } & LogEnd);

export interface JobListQuery {
  /** Function name or id: only its jobs. */
  function?: string;
  status?: JobStatus;
  /** ISO 8601 time: jobs created at or after it. */
  since?: string;
  /** 1-100. @default 20 */
  limit?: number;
  cursor?: string;
}

export interface FunctionList {
  functions: FunctionInfo[];
}

export interface AliasInfo {
  alias: string;
  version: number;
  updated_at: string;
}

export interface AliasSet extends AliasInfo {
  function_id: string;
  function_name: string;
}

export interface FunctionVersions {
  function_id: string;
  function_name: string;
  versions: FunctionInfo[];
  aliases: AliasInfo[];
}

export interface FunctionAliases {
  function_id: string;
  function_name: string;
  aliases: AliasInfo[];
}

export interface FunctionDeleted {
  function_id: string;
  function_name: string;
  /** Set when one version was deleted. */
  version?: number;
  deleted: true;
}

export interface AliasDeleted {
  function: string;
  alias: string;
  deleted: true;
}

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobError {
  code: ErrorCode;
  message: string;
  /** Exception class raised by the function (`ValueError`, `TypeError` …). */
  type?: string;
  trace?: string;
}

/** A job as `GET /status/{job_id}` and a sync `POST /run` show it. */
export interface Job {
  job_id: string;
  function_id: string;
  function_name?: string;
  function_version?: number;
  status: JobStatus;
  /** The event it was submitted with, kept up to 64 KiB of JSON (in `status()` / `GET /jobs/{id}` answers only). */
  payload?: unknown;
  /** Size of a payload too large to keep, bytes. */
  payload_bytes?: number;
  /** Present once completed (null when the function returned nothing). */
  result?: unknown;
  error?: JobError;
  /** Links that download the files the function wrote to its output directory. */
  output_files: string[];
  execution_time_ms?: number;
  /** Tail of the function's logs. */
  logs?: string;
  created_at: string;
  updated_at: string;
  started_at?: string;
  finished_at?: string;
  attempts?: number;
  peak_memory_bytes?: number;
  worker?: string;
  start?: 'cold' | 'warm' | 'prewarmed';
  /** What started the job (absent: an API call). */
  trigger?: 'api' | 'http' | 'schedule';
  /** Origin of the URL the final record is POSTed to when the job ends (the path is not shown). */
  callback_url?: string;
  callback_format?: CallbackFormat;
  /** Set when a sync run handed over to polling (202). */
  message?: string;
}

/** The answer of `POST /run` with `X-Async: true` (202). */
export interface JobSubmitted {
  job_id: string;
  function_id: string;
  function_name: string;
  function_version: number;
  status: 'pending';
  message: string;
}

export interface Health {
  status: 'healthy';
}

/** Counts of `GET /functions/{ref}/stats`, for one bucket or the whole window. */
export interface StatsTotals {
  /** Runs that finished (completed or failed; cancelled jobs are not counted). */
  invocations: number;
  errors: number;
  /** Median duration, ms, within ~10%; null without runs. */
  p50_ms: number | null;
  p95_ms: number | null;
  cold: number;
  /** Runs served by a kept or prewarmed instance. */
  warm: number;
  /** Largest peak memory of a run, MiB; null when none reported one. */
  peak_memory_mb: number | null;
}

export interface StatsBucket extends StatsTotals {
  /** Start of the bucket, Unix seconds. */
  t: number;
}

/** `GET /functions/{ref}/stats`. */
export interface FunctionStats {
  function_id: string;
  name: string;
  from: string;
  to: string;
  step_s: number;
  /** Oldest first, empty ones included. */
  buckets: StatsBucket[];
  totals: StatsTotals;
}

/** Query of `GET /functions/{ref}/stats` and `GET /stats/functions`. */
export interface StatsQuery {
  /** `15m`, `1h`, `24h` or seconds: whole minutes, at most 24 h. @default '1h' */
  window?: string;
  /** Seconds per bucket, a multiple of 60 (`functionStats` only). @default about 60 buckets */
  step?: number;
}

/** `GET /stats/functions`. */
export interface StatsSummary {
  from: string;
  to: string;
  functions: { function_id: string; name: string; invocations: number; errors: number }[];
}

/** A sandbox and its check (the Docker engine's ping), as `GET /system` shows it. */
export interface SandboxHealth {
  name: string;
  isolated: boolean;
  /** Absent when no host checked it (a controller without a sandbox and no worker seen). */
  status?: 'ok' | 'failing';
  error?: { code: string; message: string };
}

/** A host's presence heartbeat (`GET /system`). */
export interface HostInfo {
  id: string;
  role: 'all' | 'controller' | 'worker';
  hostname: string;
  pid: number;
  started_at: string;
  last_seen: string;
  version: string;
  sandbox: SandboxHealth;
  in_flight?: number;
  concurrency?: number;
  desired_workers?: number;
}

export interface BackendHealth {
  role: 'queue' | 'results' | 'storage';
  name: string;
  /** Its check() (or one read when it has none) answered within 2 s, or not. */
  status: 'ok' | 'failing';
  latency_ms?: number;
  error?: { code: string; message: string };
}

/** `GET /system`. */
export interface SystemInfo {
  now: string;
  /** The controller that answered. */
  host: { id: string; role: 'all' | 'controller' | 'worker'; version: string; started_at: string; uptime_s: number };
  presence: 'ok' | 'failing' | 'unsupported';
  controllers: HostInfo[];
  workers: HostInfo[];
  /** depth null: the queue did not answer. */
  queue: { name: string; depth: number | null };
  desired_workers: number;
  sandbox: SandboxHealth;
  backends: BackendHealth[];
}
