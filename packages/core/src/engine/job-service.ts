import { randomUUID } from 'node:crypto';
import { ENGINE_OPTIONS, LOGGER, QUEUE, RESULTS } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { NanoGridError, toNanoGridError } from '../errors.js';
import type { FunctionMeta } from '../function-meta.js';
import type { JobMessage, JobRecord } from '../job.js';
import type { Logger } from '../logger.js';
import type { QueueSource } from '../plugins/queue-source.js';
import type { ResultSink, WaitOptions } from '../plugins/result-sink.js';
import type { EngineOptions } from './engine-options.js';
import { FunctionRegistry } from './function-registry.js';
import { ResultSpill } from './result-spill.js';

export interface Submitted {
  record: JobRecord;
  fn: FunctionMeta;
}

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
  constructor(
    @inject(QUEUE) private readonly queue: QueueSource,
    @inject(RESULTS) private readonly results: ResultSink,
    @inject(FunctionRegistry) private readonly registry: FunctionRegistry,
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(ResultSpill) private readonly spill: ResultSpill,
  ) {}

  /** Queues a run of `ref` (name or id, optionally `:version` / `:alias`; `field` names it in errors). */
  async submit(ref: string, payload: unknown, field = 'function'): Promise<Submitted> {
    const fn = await this.registry.get(ref, field);
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
      job_id: randomUUID(),
      function_id: fn.function_id,
      function_name: fn.function_name,
      function_version: fn.version,
      status: 'pending',
      created_at: now,
      updated_at: now,
      output_files: [],
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
    };
    await this.results.create(record);
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

  async status(jobId: string): Promise<JobRecord> {
    const record = await this.results.get(jobId);
    if (!record) throw jobNotFound(jobId);
    return this.spill.load(record);
  }

  /** The final record, or the latest one when the wait ends first (timeout, abort). */
  async wait(jobId: string, opts: WaitOptions = {}): Promise<JobRecord> {
    const record = await this.results.wait(jobId, opts);
    if (!record) throw jobNotFound(jobId);
    return this.spill.load(record);
  }
}
