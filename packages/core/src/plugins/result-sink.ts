import type { JobPatch, JobRecord, JobStatus } from '../job.js';
import type { HostInfo } from '../telemetry/host-info.js';
import type { OutputStream } from './sandbox.js';

/** One write to a counter hash (the per-minute statistics): fields added to, fields raised to a maximum. */
export interface CounterUpdate {
  key: string;
  /** Added to the field (a missing field starts at 0). */
  add?: Record<string, number>;
  /** The field keeps the larger of its value and this one. */
  max?: Record<string, number>;
}

/** Which jobs `list` returns: newest first (by `created_at`, then job id), at most `limit`. */
export interface JobQuery {
  function_id?: string;
  status?: JobStatus;
  /** ISO time: only jobs created at or after it. */
  since?: string;
  limit: number;
  /** `next_cursor` of the previous page: the page continues after it. */
  cursor?: string;
}

export interface JobPage {
  jobs: JobRecord[];
  /** Present when more jobs may follow. */
  next_cursor?: string;
}

export interface FollowOptions {
  /** Ends the subscription. */
  signal: AbortSignal;
  /** false: only the lines so far, then the record as it is now (final or not). @default true */
  live?: boolean;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Give up after this long and return the current (non-final) record. */
  timeoutMs?: number;
}

/** One line a running job printed (live logs). */
export interface LogLine {
  stream: OutputStream;
  /** The line without its newline (cut at the engine's line limit). */
  line: string;
  /** When the worker read it, ms since the epoch. */
  t: number;
}

/** Options of `ResultSink.create`. */
export interface CreateOptions {
  /**
   * A `wait` for this job follows in this process (a sync call): a store may
   * make ready for it in the same write (Redis registers the waiting host).
   * @default false
   */
  waiting?: boolean;
}

/**
 * Job state with a TTL (24 h by default) and a way to wait for a final state.
 * Any controller can read any job: the sink is the shared state.
 */
export interface ResultSink {
  readonly name: string;
  /** Writes a new job record (status pending). */
  create(record: JobRecord, opts?: CreateOptions): Promise<void>;
  /**
   * Merges `patch` into a non-final job. Returns the new record, or undefined
   * when the job is unknown or already final (a late redelivery cannot undo a result).
   */
  update(jobId: string, patch: JobPatch): Promise<JobRecord | undefined>;
  get(jobId: string): Promise<JobRecord | undefined>;
  /**
   * Writes the final record (completed / failed) once per job id and notifies
   * waiters. Returns false when a final state was already written (nothing changes).
   */
  publish(final: JobRecord): Promise<boolean>;
  /**
   * Resolves with the final record. Subscribes before it reads the state, so a
   * result published in between is not missed. On timeout or abort returns the
   * latest record (or undefined for an unknown job).
   */
  wait(jobId: string, opts?: WaitOptions): Promise<JobRecord | undefined>;
  /**
   * Calls `listener` once with the job's final status when its record turns final (synchronously, at once when it
   * is final now); the function returned stops listening. Only a store that makes every write in this process has
   * it (memory, SQLite): a worker's watch for a cancel then costs a set entry instead of a `wait` per run (a
   * promise, an AbortSignal and a copy of the final record). Other stores leave it out and are watched by `wait`.
   */
  onFinal?(jobId: string, listener: (status: JobStatus) => void): () => void;
  /**
   * Holds `key` with `value` for `ttlMs` unless it is already held: resolves
   * undefined when this call took it, else with the value that holds it.
   * Atomic across every controller sharing the sink, so idempotency keys and
   * schedule ticks are taken once. Features that need it refuse to start without it.
   */
  claim?(key: string, value: string, ttlMs: number): Promise<string | undefined>;
  /** Recent jobs (an index kept next to the records, expiring with them). Optional: `GET /jobs` needs it. */
  list?(query: JobQuery): Promise<JobPage>;
  /**
   * Applies counter updates (all of them, atomically per key) and keeps each key `ttlMs` after
   * its last write. Optional: the statistics of `GET /functions/{ref}/stats` need it.
   */
  bumpCounters?(updates: CounterUpdate[], ttlMs: number): Promise<void>;
  /** The counters of each key, in the order asked ({} for a key never written or expired). */
  readCounters?(keys: string[]): Promise<Record<string, number>[]>;
  /** Writes a host's presence entry (replacing its last one), kept `ttlMs`: a host that stops beating disappears. */
  heartbeat?(host: HostInfo, ttlMs: number): Promise<void>;
  /** Every presence entry still alive, any order. */
  hosts?(): Promise<HostInfo[]>;
  /**
   * Live logs: appends lines of a running job, in order, for `followLogs` of any
   * controller. The worker awaits it before it publishes the final record. A
   * store keeps a bounded number of lines per job (and drops them with the job).
   */
  appendLogs?(jobId: string, lines: LogLine[]): Promise<void>;
  /**
   * Delivers the job's lines appended so far, then each new batch as it is
   * appended (no line twice, none left out), and resolves with the final record
   * once every line appended before it was published has been delivered.
   * Resolves undefined for an unknown job, when `signal` aborts, or on close;
   * nothing is delivered after it resolves. With `live: false` it resolves
   * with the current record right after the lines so far.
   */
  followLogs?(jobId: string, onLines: (lines: LogLine[]) => void, opts: FollowOptions): Promise<JobRecord | undefined>;
  /**
   * Job status changes of every job (created, running, final), as records
   * without their `logs` (and without a `result` over 16 KiB, which GET /jobs/{id} has).
   * Resolves once listening; events flow until `signal` aborts.
   */
  watchJobs?(onJob: (record: JobRecord) => void, opts: FollowOptions): Promise<void>;
  /** Proves at start-up that the store is reachable; throws a NanoGridError naming the fix. */
  check?(): Promise<void>;
  close(): Promise<void>;
}
