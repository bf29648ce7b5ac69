import { randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { ENGINE_OPTIONS, LOGGER, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { NanoGridError, isNanoGridError, toNanoGridError } from '../errors.js';
import type { JobRecord } from '../job.js';
import type { Logger } from '../logger.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import type { EngineOptions } from './engine-options.js';

/** Where large results live: `job-results/{UTC hour}/{job id}.json`, the hour telling the sweep their age. */
export const SPILL_PREFIX = 'job-results/';
const KEY_RE = /^job-results\/(\d{4}-\d{2}-\d{2}T\d{2})\/[\w-]{1,128}\.json$/;
const JOB_ID_RE = /^[\w-]{1,128}$/;
const HOUR_MS = 3_600_000;

/** The record fields that carry a result: inline, or a reference to where it is stored. */
export type ResultFields = Pick<JobRecord, 'result' | 'result_key' | 'result_bytes'>;

/**
 * Results larger than `limits.resultSpillBytes` are stored as objects in the
 * StorageBackend and the job record holds their key, so no result store (in
 * memory, Redis, a file) holds megabytes per job. Readers (`/status`, sync
 * `/run`) get the record with the result put back. Stored results are
 * removed by an hourly sweep once older than the job TTL (+1 h, so a record
 * never outlives its result).
 */
@injectable()
export class ResultSpill {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    @inject(STORAGE) private readonly storage: StorageBackend,
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The fields to record for `result`: itself when small, else the key it was stored at. */
  async store(jobId: string, result: unknown, now = new Date()): Promise<ResultFields> {
    const json = JSON.stringify(result ?? null);
    if (json.length <= this.options.resultSpillBytes) return { result };
    const id = JOB_ID_RE.test(jobId) ? jobId : randomUUID();
    const key = `${SPILL_PREFIX}${now.toISOString().slice(0, 13)}/${id}.json`;
    await this.storage.put(key, json, { contentType: 'application/json' });
    return { result_key: key, result_bytes: Buffer.byteLength(json) };
  }

  /** The record with its stored result put back (as the API shows it). */
  async load(record: JobRecord): Promise<JobRecord> {
    if (record.result_key === undefined) return record;
    const { result_key: key, result_bytes: _bytes, ...rest } = record;
    if (!KEY_RE.test(key)) {
      throw new NanoGridError('INTERNAL', `job ${record.job_id} names a result key outside ${SPILL_PREFIX}`);
    }
    let raw: Buffer;
    try {
      raw = await buffer(await this.storage.get(key));
    } catch (err) {
      if (isNanoGridError(err, 'NOT_FOUND')) {
        throw new NanoGridError(
          'JOB_NOT_FOUND',
          `the result of job ${record.job_id} is no longer stored (results are kept ${this.options.jobTtlSec} s)`,
          {
            details: { job_id: record.job_id },
          },
        );
      }
      throw toNanoGridError(err, 'BACKEND_UNAVAILABLE', this.storage.name);
    }
    return { ...rest, result: JSON.parse(raw.toString('utf8')) as unknown };
  }

  /** Deletes stored results older than the job TTL + 1 h; returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    const cutoff = now - this.options.jobTtlSec * 1000 - HOUR_MS;
    let removed = 0;
    for (const { key } of await this.storage.list(SPILL_PREFIX)) {
      const hour = KEY_RE.exec(key)?.[1];
      if (hour === undefined || Date.parse(`${hour}:00:00Z`) + HOUR_MS > cutoff) continue;
      await this.storage.delete(key);
      removed++;
    }
    return removed;
  }

  /** Sweeps every `everyMs`. */
  start(everyMs = HOUR_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweep().catch((err: Error) => this.logger.warn('could not sweep stored results', { error: err.message }));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
