import type { JobRecord, JobService } from '@nanogrid/core';
import type { Context } from 'hono';
import { NanoGridError } from '@nanogrid/core';
import { errorBody, statusOf } from './error-response.js';
import { idempotencyKey, runFingerprint } from './idempotency-key.js';
import { readRun, wantsAsync } from './read-run.js';
import { jobView } from './views.js';
import { requestWaits } from './wait-signal.js';

export interface RunHandlerOptions {
  jobs: Pick<JobService, 'submit' | 'submitOnce' | 'wait'>;
  /** Added to the function's timeout for queueing, cold start and upload of outputs. */
  syncMarginMs: number;
  /** Aborted when the host shuts down: pending sync waits answer 202 instead of hanging. */
  shutdownSignal?: AbortSignal;
  /** Sync requests waiting at once; more answer 429 with Retry-After. @default 1000 */
  maxInflight?: number;
  /** Largest body accepted, bytes (PAYLOAD_TOO_LARGE past it). @default 6 MiB + 64 KiB */
  bodyLimit?: number;
}

const pollMessage = (jobId: string): string => `Job submitted. Poll GET /status/${jobId} for the result.`;

/**
 * `POST /run`. Sync by default: the request stays open until the job is final
 * (up to the function's timeout + margin). A client that disconnects only stops
 * the wait; the job runs on and its result stays readable through /status.
 */
export function runHandler(opts: RunHandlerOptions) {
  let waiting = 0;
  const maxInflight = opts.maxInflight ?? 1000;
  const waitFor = requestWaits(opts.shutdownSignal);
  return async (c: Context): Promise<Response> => {
    const { ref, field, payload, callback } = await readRun(c, opts.bodyLimit ?? 6 * 1024 * 1024 + 64 * 1024);
    const isAsync = wantsAsync(c);
    if (!isAsync && waiting >= maxInflight) {
      // Back-pressure: refuse before queueing, so nothing runs that nobody waits for.
      const err = new NanoGridError(
        'TOO_MANY_REQUESTS',
        `${waiting} sync runs are already waiting on this controller (limit ${maxInflight}); retry shortly or use X-Async: true`,
        {
          details: { limit: maxInflight },
        },
      );
      return c.json(errorBody(err), 429, { 'Retry-After': '1' });
    }
    const key = idempotencyKey(c);
    const { record, fn, replayed } = key
      ? await opts.jobs.submitOnce(
          key,
          runFingerprint(ref, payload, callback),
          ref,
          payload,
          field,
          callback ? { callback } : {},
        )
      : {
          ...(await opts.jobs.submit(ref, payload, field, { ...(callback ? { callback } : {}), sync: !isAsync })),
          replayed: false,
        };
    if (replayed) c.header('Idempotent-Replayed', 'true');
    if (isAsync) {
      return c.json(
        {
          job_id: record.job_id,
          function_id: record.function_id,
          function_name: fn.function_name,
          function_version: fn.version,
          status: 'pending',
          message: pollMessage(record.job_id),
        },
        202,
      );
    }
    const request = waitFor(c);
    waiting++;
    let final: JobRecord;
    try {
      final = await opts.jobs.wait(record.job_id, {
        timeoutMs: fn.timeout * 1000 + opts.syncMarginMs,
        signal: request.signal,
      });
    } finally {
      waiting--;
      request.done();
    }
    if (final.status === 'completed') return c.json(jobView(final), 200);
    if (final.status === 'failed' || final.status === 'cancelled') {
      const code = final.error?.code ?? 'INTERNAL';
      const error = final.error ?? { code, message: 'the job failed without an error record' };
      return c.json({ ...jobView(final), error }, statusOf(code));
    }
    // The wait ended first (long queue, shutdown): hand over to polling rather than fail a live job.
    return c.json(
      {
        ...jobView(final),
        message: `The job is still ${final.status}. Poll GET /status/${final.job_id} for the result.`,
      },
      202,
    );
  };
}
