import { randomUUID } from 'node:crypto';
import { ENGINE_OPTIONS, LOGGER, QUEUE, RESULTS } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { NanoGridError, toNanoGridError } from '../errors.js';
import type { FunctionMeta } from '../function-meta.js';
import { JOB_PAYLOAD_KEPT_BYTES, type JobMessage, type JobRecord, type JobTrigger, isFinalStatus } from '../job.js';
import type { Logger } from '../logger.js';
import type { QueueSource } from '../plugins/queue-source.js';
import type { JobPage, JobQuery, LogLine, ResultSink, WaitOptions } from '../plugins/result-sink.js';
import type { EngineOptions } from './engine-options.js';
import { FunctionRegistry } from './function-registry.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { ResultSpill } from './result-spill.js';
import { checkCallback } from './validate-deploy.js';
import { recordOfClaim } from './record-of-claim.js';
import { logTail } from './interpret-run.js';
import { type JobWatchFilter, followJob, jobLogsNow, watchJobChanges } from '../live/follow-job.js';

/** What a caller may add to a submit. */
export interface SubmitOptions {
  /** Job id to use (an idempotent retry). @default a new UUID */
  jobId?: string;
  trigger?: JobTrigger;
  /** Completion callback of this job; absent: the function's default (if any). Checked here. */
  callback?: { url?: unknown; format?: unknown };
  /**
   * The caller waits for the result (a sync call): with an in-process runner set (`runInProcess`), the job may
   * start at once in this process instead of taking a queue round trip. @default false
   */
  sync?: boolean;
}

/** Starts a job in this process now, or answers false (it is queued then). */
export type InProcessRunner = (job: JobMessage, fn: FunctionMeta) => boolean;

export interface Submitted {
  record: JobRecord;
  fn: FunctionMeta;
}

/** How long an idempotency key names its job: as long as job records live by default. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** How long after claiming a key a request may take to write its job's record. */
export const IDEMPOTENCY_SETTLE_MS = 5_000;

function jobNotFound(jobId: string): NanoGridError {
  return new NanoGridError('JOB_NOT_FOUND', `no job with id "${jobId}" (job records are kept for 24 hours)`, {
    details: { job_id: jobId },
  });
}

/**
 * The controller's side of a job: check the function and payload, write the
 * pending record, queue the message; read and wait for job state.
 */
@injectable()
export class JobService {
  private inProcess: InProcessRunner | undefined;

  constructor(
    @inject(QUEUE) private readonly queue: QueueSource,
    @inject(RESULTS) private readonly results: ResultSink,
    @inject(FunctionRegistry) private readonly registry: FunctionRegistry,
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(ResultSpill) private readonly spill: ResultSpill,
    @inject(WebhookOutbox) private readonly webhooks: WebhookOutbox,
  ) {}

  /**
   * Lets sync submissions start in this process's worker when it has room,
   * skipping the queue (an all-in-one host on its embedded store sets it).
   * Such a job is at-most-once across a crash of the process: nothing queued
   * it, so it is not delivered again after a restart; the embedded store then
   * fails its record (docs/scaling.md), and its client's request has failed too.
   */
  runInProcess(runner: InProcessRunner | undefined): void {
    this.inProcess = runner;
  }

  /** Queues a run of `ref` (name or id, optionally `:version` / `:alias`; `field` names it in errors). */
  async submit(ref: string, payload: unknown, field = 'function', opts: SubmitOptions = {}): Promise<Submitted> {
    const fn = await this.registry.get(ref, field);
    const callback = this.callbackOf(fn, opts.callback);
    const size = Buffer.byteLength(JSON.stringify(payload ?? {}));
    if (size > this.options.maxPayloadBytes) {
      throw new NanoGridError(
        'PAYLOAD_TOO_LARGE',
        `the payload is ${size} bytes of JSON; the limit is ${this.options.maxPayloadBytes}`,
        {
          details: { field: 'payload', limit: this.options.maxPayloadBytes },
        },
      );
    }
    const now = new Date().toISOString();
    const record: JobRecord = {
      job_id: opts.jobId ?? randomUUID(),
      ...(opts.trigger && opts.trigger !== 'api' ? { trigger: opts.trigger } : {}),
      function_id: fn.function_id,
      function_name: fn.function_name,
      function_version: fn.version,
      status: 'pending',
      // Kept for the dashboard's job view; a large one by its size only (records stay small).
      ...(size <= JOB_PAYLOAD_KEPT_BYTES ? { payload: payload ?? {} } : { payload_bytes: size }),
      created_at: now,
      updated_at: now,
      output_files: [],
      ...callback,
    };
    const message: JobMessage = {
      job_id: record.job_id,
      function_id: fn.function_id,
      function_version: fn.version,
      payload: payload ?? {},
      s3_key: fn.s3_key,
      runtime: fn.runtime,
      handler: fn.handler,
      timeout: fn.timeout,
      memory_mb: fn.memory_mb,
      submitted_at: now,
      ...callback,
    };
    await this.results.create(record, opts.sync ? { waiting: true } : undefined);
    if (opts.sync && this.inProcess?.(message, fn)) return { record, fn };
    try {
      await this.queue.send(message);
    } catch (err) {
      // The record exists: mark it failed so nobody polls a job that was never queued.
      const e = toNanoGridError(err, 'BACKEND_UNAVAILABLE', this.queue.name);
      const failed: JobRecord = {
        ...record,
        status: 'failed',
        updated_at: new Date().toISOString(),
        error: { code: e.code, message: `the job could not be queued: ${e.message}` },
      };
      await this.results.publish(failed).catch((pubErr: Error) =>
        this.logger.error('could not record a job that failed to queue', {
          job_id: record.job_id,
          error: pubErr.message,
        }),
      );
      throw e;
    }
    return { record, fn };
  }

  /**
   * `submit` under an idempotency key: the first request with `key` queues a
   * job, a repeat within 24 h gets that job back (`replayed`), and a repeat
   * whose `fingerprint` (what was asked) differs is IDEMPOTENCY_CONFLICT. The
   * key is taken atomically in the result sink, so two controllers answering
   * the same key at once queue one job.
   */
  async submitOnce(
    key: string,
    fingerprint: string,
    ref: string,
    payload: unknown,
    field = 'function',
    opts: Pick<SubmitOptions, 'callback'> = {},
  ): Promise<Submitted & { replayed: boolean }> {
    if (!this.results.claim) {
      throw new NanoGridError(
        'BAD_REQUEST',
        `Idempotency-Key needs a results backend that can claim keys; ${this.results.name} cannot`,
      );
    }
    const jobId = randomUUID();
    const held = await this.results.claim(
      `idem:${key}`,
      JSON.stringify({ job_id: jobId, fingerprint, at: Date.now() }),
      IDEMPOTENCY_TTL_MS,
    );
    if (held === undefined) return { ...(await this.submit(ref, payload, field, { ...opts, jobId })), replayed: false };
    const prior = JSON.parse(held) as { job_id: string; fingerprint: string; at?: number };
    if (prior.fingerprint !== fingerprint) {
      throw new NanoGridError(
        'IDEMPOTENCY_CONFLICT',
        `this Idempotency-Key was used in the last 24 hours for a different request (job ${prior.job_id}); send a new key for a new request`,
        { details: { job_id: prior.job_id } },
      );
    }
    // A request that claimed the key a moment ago may not have written its record yet: wait for it.
    const record = await recordOfClaim(this.results, prior.job_id, (prior.at ?? 0) + IDEMPOTENCY_SETTLE_MS);
    if (!record) {
      // The first submit was refused before queueing (or the record expired): one retry at a time
      // submits it again under the same id; a request that loses this race is told to retry.
      const retry = await this.results.claim(`idem-retry:${key}`, jobId, IDEMPOTENCY_SETTLE_MS);
      if (retry !== undefined) {
        throw new NanoGridError(
          'CONFLICT',
          `a request with this Idempotency-Key is being retried right now (job ${prior.job_id}); retry in a few seconds`,
          { details: { job_id: prior.job_id } },
        );
      }
      return { ...(await this.submit(ref, payload, field, { ...opts, jobId: prior.job_id })), replayed: false };
    }
    const version = record.function_version;
    const fn = await this.registry.get(version === undefined ? record.function_id : `${record.function_id}:${version}`);
    return { record, fn, replayed: true };
  }

  /** The job's callback: the one asked for (checked now) or the function's default (checked at deploy). */
  private callbackOf(
    fn: FunctionMeta,
    asked: SubmitOptions['callback'],
  ): Pick<JobRecord, 'callback_url' | 'callback_format'> {
    if (asked && (asked.url !== undefined || asked.format !== undefined)) {
      const c = checkCallback(asked.url, asked.format, this.options);
      return { callback_url: c.callbackUrl, ...(c.callbackFormat ? { callback_format: c.callbackFormat } : {}) };
    }
    if (!fn.callback_url) return {};
    return { callback_url: fn.callback_url, ...(fn.callback_format ? { callback_format: fn.callback_format } : {}) };
  }

  async status(jobId: string): Promise<JobRecord> {
    const record = await this.results.get(jobId);
    if (!record) throw jobNotFound(jobId);
    return this.spill.load(record);
  }

  /**
   * Cancels a job that is not final: publishes the final `cancelled` record, once, so a pending job
   * never runs and the worker running it kills its sandbox. A final job answers CONFLICT.
   */
  async cancel(jobId: string): Promise<JobRecord> {
    const record = await this.results.get(jobId);
    if (!record) throw jobNotFound(jobId);
    // The killed run's own result is never published, so the record keeps what it streamed until now.
    const streamed = isFinalStatus(record.status) ? [] : ((await jobLogsNow(this.results, jobId))?.lines ?? []);
    const now = new Date().toISOString();
    const final: JobRecord = {
      ...record,
      status: 'cancelled',
      updated_at: now,
      finished_at: now,
      error: { code: 'CANCELLED', message: 'the job was cancelled (POST /jobs/{id}/cancel)' },
    };
    if (streamed.length > 0) final.logs = logTail(streamed.map((l) => l.line).join('\n'));
    // As for any final record: the callback is recorded before the publish, delivered after it.
    if (final.callback_url && !isFinalStatus(record.status)) await this.webhooks.record(final);
    if (isFinalStatus(record.status) || !(await this.results.publish(final))) {
      const latest = (await this.results.get(jobId)) ?? record;
      throw new NanoGridError(
        'CONFLICT',
        `job ${jobId} is already ${latest.status}; only a pending or running job can be cancelled`,
        {
          details: { job_id: jobId, status: latest.status },
        },
      );
    }
    if (final.callback_url) this.webhooks.kick(jobId);
    this.logger.info('job cancelled', { job_id: jobId, function_id: record.function_id, was: record.status });
    return final;
  }

  /**
   * A job's log lines while it runs, then its final record (undefined when
   * `signal` aborts first). JOB_NOT_FOUND for an unknown job, before anything is sent.
   */
  async followLogs(
    jobId: string,
    onLines: (lines: LogLine[]) => void,
    signal: AbortSignal,
  ): Promise<JobRecord | undefined> {
    if (!(await this.results.get(jobId))) throw jobNotFound(jobId);
    return followJob(this.results, jobId, onLines, signal);
  }

  /** A job's lines so far and its record as it is now. JOB_NOT_FOUND for an unknown job. */
  async logs(jobId: string): Promise<{ record: JobRecord; lines: LogLine[] }> {
    const now = await jobLogsNow(this.results, jobId);
    if (!now) throw jobNotFound(jobId);
    return now;
  }

  /** Job status changes (records without logs), filtered, until `signal` aborts. */
  watch(filter: JobWatchFilter, onJob: (record: JobRecord) => void, signal: AbortSignal): Promise<void> {
    return watchJobChanges(this.results, filter, onJob, signal);
  }

  /** Recent jobs, newest first; needs a result store that keeps an index (`list`). */
  async list(query: JobQuery): Promise<JobPage> {
    if (!this.results.list) {
      throw new NanoGridError(
        'BAD_REQUEST',
        `the result store "${this.results.name}" cannot list jobs; use the memory, SQLite or Redis store, or read jobs by id (GET /jobs/{id})`,
        { plugin: this.results.name },
      );
    }
    return this.results.list(query);
  }

  /** The final record, or the latest one when the wait ends first (timeout, abort). */
  async wait(jobId: string, opts: WaitOptions = {}): Promise<JobRecord> {
    const record = await this.results.wait(jobId, opts);
    if (!record) throw jobNotFound(jobId);
    return this.spill.load(record);
  }
}
