import type { JobRecord, JobService } from '@nanogrid/core';
import { NanoGridError } from '@nanogrid/core';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorBody, statusOf } from './error-response.js';
import { idempotencyKey, runFingerprint } from './idempotency-key.js';
import { readRun, wantsAsync } from './read-run.js';
import { jobView } from './views.js';
import type { RequestWait } from './wait-signal.js';

export interface RunHandlerOptions {
  jobs: Pick<JobService, 'submit' | 'submitOnce' | 'wait'>;
  /** Added to the function's timeout for queueing, cold start and upload of outputs. */
  syncMarginMs: number;
  /** Sync requests waiting at once; more answer 429 with Retry-After. @default 1000 */
  maxInflight?: number;
  /** Largest body accepted, bytes (PAYLOAD_TOO_LARGE past it). @default 6 MiB + 64 KiB */
  bodyLimit?: number;
}

/** What `POST /run` reads of its request, whichever server it came through. */
export interface RunInput {
  /** A request header by its lower-case name (repeated ones joined with ", "). */
  header(name: string): string | undefined;
  /** The body as text, at most `limit` bytes (PAYLOAD_TOO_LARGE past it). */
  body(limit: number): Promise<string>;
  /** The signal a sync wait listens to (the client gone, the shutdown), taken once the job is submitted. */
  wait(): RequestWait;
}

/** The answer: a JSON body, its status and extra headers. */
export interface RunAnswer {
  status: ContentfulStatusCode;
  body: unknown;
  headers?: Record<string, string>;
}

/** One `POST /run`, given what it read of its request. */
export type RunCall = (input: RunInput) => Promise<RunAnswer>;

const pollMessage = (jobId: string): string => `Job submitted. Poll GET /status/${jobId} for the result.`;

/**
 * `POST /run`, apart from its server: Hono's route (run-handler.ts) and the
 * path served straight from Node's server (fast-run.ts) both answer through
 * it. Sync by default: the request stays open until the job is final (up to
 * the function's timeout + margin). A client that disconnects only stops the
 * wait; the job runs on and its result stays readable through /status.
 */
export function runCall(opts: RunHandlerOptions): RunCall {
  let waiting = 0;
  const maxInflight = opts.maxInflight ?? 1000;
  const bodyLimit = opts.bodyLimit ?? 6 * 1024 * 1024 + 64 * 1024;
  return async (input) => {
    const { ref, field, payload, callback } = readRun(await input.body(bodyLimit));
    const isAsync = wantsAsync(input.header('x-async'));
    if (!isAsync && waiting >= maxInflight) {
      // Back-pressure: refuse before queueing, so nothing runs that nobody waits for.
      const err = new NanoGridError(
        'TOO_MANY_REQUESTS',
        `${waiting} sync runs are already waiting on this controller (limit ${maxInflight}); retry shortly or use X-Async: true`,
        { details: { limit: maxInflight } },
      );
      return { status: 429, body: errorBody(err), headers: { 'Retry-After': '1' } };
    }
    const key = idempotencyKey((name) => input.header(name));
    const { record, fn, replayed } = key
      ? await opts.jobs.submitOnce(
          key,
          runFingerprint(ref, payload, callback),
          ref,
          payload,
          field,
          callback ? { callback } : {},
        )
      : Object.assign(
          await opts.jobs.submit(ref, payload, field, callback ? { callback, sync: !isAsync } : { sync: !isAsync }),
          { replayed: false },
        );
    const headers: Record<string, string> | undefined = replayed ? { 'Idempotent-Replayed': 'true' } : undefined;
    const answer = (status: ContentfulStatusCode, body: unknown): RunAnswer =>
      headers ? { status, body, headers } : { status, body };
    if (isAsync) {
      return answer(202, {
        job_id: record.job_id,
        function_id: record.function_id,
        function_name: fn.function_name,
        function_version: fn.version,
        status: 'pending',
        message: pollMessage(record.job_id),
      });
    }
    const request = input.wait();
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
    if (final.status === 'completed') return answer(200, jobView(final));
    if (final.status === 'failed' || final.status === 'cancelled') {
      const code = final.error?.code ?? 'INTERNAL';
      const error = final.error ?? { code, message: 'the job failed without an error record' };
      return answer(statusOf(code), { ...jobView(final), error });
    }
    // The wait ended first (long queue, shutdown): hand over to polling rather than fail a live job.
    return answer(202, {
      ...jobView(final),
      message: `The job is still ${final.status}. Poll GET /status/${final.job_id} for the result.`,
    });
  };
}
