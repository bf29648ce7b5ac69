import type { FunctionMeta, JobRecord, JobService } from '@nanogrid/core';
import type { Context } from 'hono';
import type { RequestWait } from '../http/wait-signal.js';
import { LambdaApiError } from './lambda-error.js';
import { type LambdaRef, registryRef, shownVersion } from './lambda-ref.js';

export interface LambdaInvokeOptions {
  jobs: Pick<JobService, 'submit' | 'wait'>;
  /** Added to the function's timeout for a RequestResponse wait. */
  syncMarginMs: number;
  /** The signal a RequestResponse wait listens to: its client gone or the host shutting down. */
  waitOf: (c: Context) => RequestWait;
  /** Finds a function version (DryRun). */
  resolve: (ref: string) => Promise<FunctionMeta>;
}

/** Lambda returns at most the last 4 KB of the log with `LogType: Tail`. */
const TAIL_BYTES = 4096;

/** Lambda's `errorType` for the NanoGrid codes a failed run can carry. */
const ERROR_TYPES: Record<string, string> = {
  TIMEOUT: 'Sandbox.Timedout',
  OUT_OF_MEMORY: 'Runtime.OutOfMemory',
  HANDLER_NOT_FOUND: 'Runtime.HandlerNotFound',
  IMPORT_ERROR: 'Runtime.ImportModuleError',
  NON_ZERO_EXIT: 'Runtime.ExitError',
  BAD_RESULT: 'Runtime.MalformedResult',
  RESULT_TOO_LARGE: 'Function.ResponseSizeTooLarge',
};

function parsePayload(body: Uint8Array): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new LambdaApiError('InvalidRequestContentException', 400, 'Could not parse request body into json');
  }
}

/** The log Lambda would have written for this run: START, the function's lines, END and REPORT. */
function lambdaLog(record: JobRecord, fn: FunctionMeta, version: string): string {
  const id = record.job_id;
  const ms = record.execution_time_ms ?? 0;
  const usedMb = Math.ceil((record.peak_memory_bytes ?? 0) / (1024 * 1024));
  const body = record.logs ? (record.logs.endsWith('\n') ? record.logs : `${record.logs}\n`) : '';
  return (
    `START RequestId: ${id} Version: ${version}\n${body}END RequestId: ${id}\n` +
    `REPORT RequestId: ${id}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.ceil(ms)} ms\t` +
    `Memory Size: ${fn.memory_mb} MB\tMax Memory Used: ${usedMb} MB\t\n`
  );
}

const tail = (text: string) => {
  const bytes = Buffer.from(text);
  return bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString('base64');
};

/**
 * Invoke: `RequestResponse` waits for the result (function errors come back
 * 200 with `X-Amz-Function-Error: Unhandled` and `{errorMessage, errorType,
 * stackTrace}`), `Event` queues and answers 202, `DryRun` checks and answers 204.
 */
export async function lambdaInvoke(
  c: Context,
  ref: LambdaRef,
  body: Uint8Array,
  opts: LambdaInvokeOptions,
): Promise<Response> {
  const type = c.req.header('x-amz-invocation-type') ?? 'RequestResponse';
  if (!['RequestResponse', 'Event', 'DryRun'].includes(type)) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      400,
      `InvocationType must be RequestResponse, Event or DryRun, not ${type}`,
    );
  }
  const payload = parsePayload(body);
  if (type === 'DryRun') {
    // Checks that the function (and its qualifier) exists; nothing is queued.
    await opts.resolve(registryRef(ref));
    return c.body(null, 204);
  }
  const { record, fn } = await opts.jobs.submit(registryRef(ref), payload);
  const version = shownVersion(ref, fn.version);
  c.header('x-amzn-RequestId', record.job_id);
  c.header('X-Amz-Executed-Version', version);
  if (type === 'Event') return c.body(null, 202);

  const wait = opts.waitOf(c);
  const final = await opts.jobs
    .wait(record.job_id, { timeoutMs: fn.timeout * 1000 + opts.syncMarginMs, signal: wait.signal })
    .finally(wait.done);
  if (final.status !== 'completed' && final.status !== 'failed' && final.status !== 'cancelled') {
    throw new LambdaApiError(
      'ServiceException',
      500,
      `the invocation is still ${final.status}; its job id is ${final.job_id} (GET /jobs/${final.job_id})`,
    );
  }
  if (c.req.header('x-amz-log-type') === 'Tail') c.header('X-Amz-Log-Result', tail(lambdaLog(final, fn, version)));
  if (final.status === 'completed') {
    return c.body(JSON.stringify(final.result ?? null), 200, { 'content-type': 'application/json' });
  }
  const error = final.error ?? { code: 'INTERNAL', message: 'the invocation failed without an error record' };
  c.header('X-Amz-Function-Error', 'Unhandled');
  const errorBody = {
    errorMessage: error.message,
    // Lambda names load, timeout and memory failures itself; an exception raised by the handler by its class.
    errorType: ERROR_TYPES[error.code] ?? error.type ?? error.code,
    ...(error.trace ? { stackTrace: error.trace.split('\n').filter(Boolean) } : {}),
  };
  return c.body(JSON.stringify(errorBody), 200, { 'content-type': 'application/json' });
}
