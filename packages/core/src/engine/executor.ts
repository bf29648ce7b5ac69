import { rm } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENGINE_OPTIONS, LOGGER, RESULTS, SANDBOX, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { StatsRecorder } from '../telemetry/stats-recorder.js';
import { isNanoGridError, toNanoGridError } from '../errors.js';
import type { FunctionMeta } from '../function-meta.js';
import { type JobError, type JobMessage, type JobRecord, isFinalStatus } from '../job.js';
import type { Logger } from '../logger.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { Sandbox } from '../plugins/sandbox.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { CodeCache, functionInfo } from './code-cache.js';
import { collectOutputs } from './collect-outputs.js';
import type { EngineOptions } from './engine-options.js';
import { FunctionRegistry } from './function-registry.js';
import { invoke } from './invoke.js';
import { Replicator } from './replicator.js';
import { ResultSpill } from './result-spill.js';
import { watchCancel } from './watch-cancel.js';
import { JobLogWriter } from '../live/job-log-writer.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';

/** The job's function as the worker loop read it, once per delivery: its metadata, or why the read failed. */
export type FunctionLookup = { meta: FunctionMeta } | { error: unknown };

export interface ExecuteContext {
  /** The job's function, read once by the caller (which also needs it for its concurrency limit). */
  fn: FunctionLookup;
  /** Delivery attempt, 1 on the first. */
  attempt: number;
  workerId: string;
  signal?: AbortSignal;
}

/**
 * An error's message as a client may see it: host paths (the worker's work
 * directory, its temp directory) are replaced by `…`, since they tell an
 * attacker where things live. Messages NanoGrid writes avoid them; this
 * catches errors of the platform (ENOENT, open '/var/lib/…') and plugins.
 */
export function publicMessage(err: Error, hostPaths: readonly string[]): string {
  let message = err.message;
  for (const root of hostPaths) {
    if (!root || root === '/') continue;
    const trimmed = root.replace(/\/+$/, '');
    message = message.replace(
      new RegExp(`${trimmed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:/[^\\s'"\`),;]*)?`, 'g'),
      '…',
    );
  }
  return message;
}

/** Errors of the infrastructure (not of the function): worth another delivery. */
export function isRetryable(err: unknown): boolean {
  return isNanoGridError(err, 'BACKEND_UNAVAILABLE');
}

/**
 * The worker's side of a job: load the function, mark the job running, run it
 * in the sandbox, store its outputs, publish the final record (once per job).
 * Function failures become failed jobs; infrastructure errors are thrown so
 * the worker loop can retry the delivery.
 */
@injectable()
export class Executor {
  /** Executions started by this instance (names their output directories). */
  private runs = 0;
  /** Where runs' output directories go (joined once: path.join per call normalizes the whole path). */
  private jobsDir: string | undefined;

  constructor(
    @inject(STORAGE) private readonly storage: StorageBackend,
    @inject(RESULTS) private readonly results: ResultSink,
    @inject(SANDBOX) private readonly sandbox: Sandbox,
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(FunctionRegistry) private readonly registry: FunctionRegistry,
    @inject(CodeCache) private readonly code: CodeCache,
    @inject(Replicator) private readonly replicator: Replicator,
    @inject(ResultSpill) private readonly spill: ResultSpill,
    @inject(WebhookOutbox) private readonly webhooks: WebhookOutbox,
    @inject(StatsRecorder) private readonly stats: StatsRecorder,
  ) {}

  /** Runs one job; returns its final record, or the existing one when it was already final (a redelivery). */
  async execute(job: JobMessage, ctx: ExecuteContext): Promise<JobRecord> {
    const now = new Date().toISOString();
    if ('error' in ctx.fn) {
      const base = await this.currentRecord(job);
      if (isFinalStatus(base.status)) return base;
      if (isRetryable(ctx.fn.error)) throw ctx.fn.error;
      return this.finish(
        base,
        { code: 'FUNCTION_NOT_FOUND', message: toNanoGridError(ctx.fn.error).message },
        { output_files: [] },
      );
    }
    const meta = ctx.fn.meta;
    const patch = {
      status: 'running' as const,
      started_at: now,
      attempts: ctx.attempt,
      worker: ctx.workerId,
      function_name: meta.function_name,
      function_version: meta.version,
    };
    // The update is the read: it answers undefined for a record that is final (cancelled, or finished by
    // another delivery: the job does not run) or missing (a message that came without one: made now).
    let updated = await this.results.update(job.job_id, patch);
    if (!updated) {
      const base = await this.currentRecord(job);
      if (isFinalStatus(base.status)) return base;
      updated = (await this.results.update(job.job_id, patch)) ?? base;
    }
    const running = updated;
    const cancel = watchCancel(this.results, job.job_id, ctx.signal);

    const timeoutSec = Math.min(job.timeout ?? meta.timeout, this.options.maxTimeoutSec);
    const memoryMb = Math.min(job.memory_mb ?? meta.memory_mb, this.options.maxMemoryMb);
    const diskMb = Math.min(meta.disk_mb ?? this.options.defaultDiskMb, this.options.maxDiskMb);
    // The one owner of the job's output directory: named, collected and removed here; a sandbox only copies
    // regular files into it, making it when there are any (a warm call with no outputs never touches the
    // disk: a mkdir and rm per call would cost more than the call). Unique per execution in this process
    // (a redelivery may run beside a stale attempt): a counter, not random bytes.
    // A job id has no `/` or `.` (job-message.ts checks it), so appending it to the joined base stays inside it.
    this.jobsDir ??= join(this.options.workDir, 'jobs');
    const outputDir = `${this.jobsDir}/${job.job_id.slice(0, 40)}-${process.pid}-${++this.runs}`;
    const fail = (err: unknown): JobError => {
      const e = toNanoGridError(err, 'SANDBOX_ERROR', this.sandbox.name);
      const message = publicMessage(e, [resolve(this.options.workDir), tmpdir()]);
      if (message !== e.message)
        this.logger.warn('a job failed with a message naming host paths', { job_id: job.job_id, error: e.message });
      return { code: e.code, message };
    };
    let mayHaveOutputs = true; // unknown until the run says otherwise
    try {
      const plugin = this.registry.runtimeOf(meta);
      let codeDir: string;
      try {
        codeDir = await this.code.prepare(meta, plugin);
      } catch (err) {
        if (isRetryable(err)) throw err;
        return this.finish(running, fail(err), {});
      }
      let outcome;
      const live = this.liveLogs(job.job_id, plugin.protocol);
      try {
        outcome = await invoke(this.sandbox, {
          runtime: plugin,
          fn: functionInfo(meta),
          codeDir,
          outputDir,
          payload: job.payload,
          jobId: job.job_id,
          functionId: meta.function_id,
          functionName: meta.function_name,
          timeoutMs: timeoutSec * 1000,
          memoryMb,
          diskMb,
          cpus: this.options.cpus,
          network: meta.network,
          ...(this.options.aiEndpoint ? { aiEndpoint: this.options.aiEndpoint } : {}),
          env: meta.env,
          lambda: this.options.lambda,
          functionVersion: String(meta.version),
          maxResultBytes: this.options.maxResultBytes,
          labels: { 'nanogrid.job': job.job_id, 'nanogrid.function': meta.function_id },
          // A warm instance serves one function version (its env and code) with one set of limits.
          ...(this.options.warm
            ? {
                warmKey: `${meta.function_id}:${meta.version}:${meta.code_sha256.slice(0, 16)}:${memoryMb}:${diskMb}:${meta.network}`,
              }
            : {}),
          signal: cancel.signal,
          ...(live ? { onOutput: live.onOutput } : {}),
        });
      } catch (err) {
        await live?.close();
        return this.finish(running, fail(err), {});
      }
      // Every line is in the store before the final record: a follower sees them all, then the end.
      await live?.close();
      mayHaveOutputs = outcome.outputsWritten !== false;
      const facts: Partial<JobRecord> = {
        execution_time_ms: Math.round(outcome.run.durationMs),
        logs: outcome.logs,
        ...(outcome.run.peakMemoryBytes !== undefined ? { peak_memory_bytes: outcome.run.peakMemoryBytes } : {}),
        start: outcome.start ?? 'cold',
      };
      if (!outcome.ok) return this.finish(running, outcome.error, facts);
      let outputs: { key: string; url: string }[] = [];
      try {
        if (mayHaveOutputs)
          outputs = await collectOutputs(this.storage, job.job_id, outputDir, {
            maxBytes: this.options.maxOutputBytes,
            urlTtlSec: this.options.outputUrlTtlSec,
          });
      } catch (err) {
        if (isRetryable(err)) throw err;
        return this.finish(running, fail(err), facts);
      }
      // A large result goes to storage; the record (held by the result store) only names it.
      const result = await this.spill.store(job.job_id, outcome.result);
      const final = await this.finish(
        running,
        undefined,
        Object.assign({}, facts, result, { output_files: outputs.map((o) => o.url) }),
      );
      // Successful results (record + outputs) go to the replicas; a replica that is down never fails the job.
      // Without replicas there is nothing to copy: no JSON of the record is made.
      if (this.replicator.enabled) {
        const record = {
          key: `results/${final.job_id}.json`,
          body: JSON.stringify(final),
          contentType: 'application/json',
        };
        await this.replicator.enqueue(
          [...outputs.map((o) => o.key), ...(result.result_key ? [result.result_key] : [])],
          [record],
        );
      }
      return final;
    } finally {
      cancel.stop();
      // Whatever happened (a failed job's partial outputs included), nothing of the run stays on this disk.
      if (mayHaveOutputs) await rm(outputDir, { recursive: true, force: true });
    }
  }

  /** Live logs of one run, when the result store keeps them. */
  private liveLogs(jobId: string, protocol: 'envelope' | 'stdout'): JobLogWriter | undefined {
    const results = this.results;
    if (!results.appendLogs) return undefined;
    let warned = false;
    return new JobLogWriter(
      (lines) => results.appendLogs!(jobId, lines),
      protocol,
      this.options.liveLogs,
      (err) => {
        if (warned) return;
        warned = true; // live logs are best effort: the job goes on, its final logs are in its record
        this.logger.warn('live logs of a job could not be stored', { job_id: jobId, error: (err as Error).message });
      },
    );
  }

  /** The job's record, or a new pending one for a message that came without one. */
  async currentRecord(job: JobMessage): Promise<JobRecord> {
    const existing = await this.results.get(job.job_id);
    if (existing) return existing;
    const now = new Date().toISOString();
    const base: JobRecord = {
      job_id: job.job_id,
      function_id: job.function_id,
      status: 'pending',
      created_at: job.submitted_at ?? now,
      updated_at: now,
      output_files: [],
      ...(job.callback_url ? { callback_url: job.callback_url } : {}),
      ...(job.callback_format ? { callback_format: job.callback_format } : {}),
    };
    await this.results.create(base);
    return base;
  }

  /** Publishes the final record; when another delivery won the race, returns theirs. */
  async finish(record: JobRecord, error: JobError | undefined, facts: Partial<JobRecord>): Promise<JobRecord> {
    const now = new Date().toISOString();
    // Object.assign, not spreads of two records: those build a new hidden class per call in V8 (~10 µs, measured).
    const final: JobRecord = Object.assign({}, record, facts, {
      output_files: facts.output_files ?? [],
      status: error ? ('failed' as const) : ('completed' as const),
      updated_at: now,
      finished_at: now,
    });
    if (error) final.error = error;
    // The callback is recorded before the record is published, so a crash in between cannot lose it.
    if (final.callback_url) await this.webhooks.record(final);
    if (!(await this.results.publish(final))) {
      this.logger.warn("job already had a final state; this run's result is dropped", { job_id: record.job_id });
      return (await this.results.get(record.job_id)) ?? final;
    }
    // What follows the publish (statistics, the webhook's kick, and the caller's replication, ack and metrics)
    // waits for the event loop's next turn: a sync caller woken by the publish writes its HTTP answer first.
    await nextTurn();
    if (final.callback_url) this.webhooks.kick(final.job_id);
    // Counted once per job, by the run that published it.
    this.stats.record(final);
    return final;
  }
}
