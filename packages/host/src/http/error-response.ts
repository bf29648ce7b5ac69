import { type ErrorCode, type Logger, ERROR_STATUS, NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The one error shape of the API: `{ "error": { "code", "message", … } }`. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** The request field at fault (VALIDATION_FAILED and friends). */
    field?: string;
    details?: Record<string, unknown>;
  };
}

export function errorBody(err: NanoGridError): ErrorBody {
  const field = typeof err.details?.['field'] === 'string' ? err.details['field'] : undefined;
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(field ? { field } : {}),
      ...(err.details ? { details: err.details } : {}),
    },
  };
}

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return ERROR_STATUS[code] as ContentfulStatusCode;
}

/** Seconds a client should wait before retrying, for errors that pass once the host has drained. */
const RETRY_AFTER: Partial<Record<ErrorCode, string>> = { QUEUE_FULL: '5', RESULTS_FULL: '30' };

export function errorResponse(c: Context, err: NanoGridError): Response {
  const { status, body, headers } = errorAnswer(err);
  return c.json(body, status, headers);
}

/** Hono's own exceptions (thrown by its helpers) mapped onto NanoGrid codes. */
function fromHttpException(err: HTTPException): NanoGridError {
  const code: ErrorCode =
    err.status === 413
      ? 'PAYLOAD_TOO_LARGE'
      : err.status === 401
        ? 'UNAUTHORIZED'
        : err.status === 404
          ? 'NOT_FOUND'
          : err.status < 500
            ? 'BAD_REQUEST'
            : 'INTERNAL';
  return new NanoGridError(code, err.message || `HTTP ${err.status}`);
}

/**
 * The NanoGrid error a request fails with: its own for a NanoGridError (a
 * 5xx one logged), Hono's mapped, anything else — a bug or an outage — logged
 * with its stack and answered as INTERNAL without leaking internals to the caller.
 */
export function requestError(err: Error, logger: Logger, method: string, path: string): NanoGridError {
  if (err instanceof NanoGridError) {
    if (err.status >= 500) logger.error('request failed', { method, path, code: err.code, error: err.message });
    return err;
  }
  if (err instanceof HTTPException) return fromHttpException(err);
  logger.error('unexpected error', { method, path, error: err.message, stack: err.stack });
  return new NanoGridError('INTERNAL', 'internal error; the details are in the server log');
}

/** The answer of a failed request, as errorResponse gives it: status, body, headers. */
export function errorAnswer(err: NanoGridError): {
  status: ContentfulStatusCode;
  body: ErrorBody;
  headers: Record<string, string>;
} {
  const retry = RETRY_AFTER[err.code];
  return { status: statusOf(err.code), body: errorBody(err), headers: retry ? { 'Retry-After': retry } : {} };
}

/** `app.onError`: NanoGrid errors answer with their code's status; anything else as INTERNAL (see requestError). */
export function onErrorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => errorResponse(c, requestError(err, logger, c.req.method, c.req.path));
}

export function notFoundHandler(c: Context): Response {
  return errorResponse(c, new NanoGridError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
}

/** A VALIDATION_FAILED error naming its field. */
export function invalidField(field: string, message: string): NanoGridError {
  return new NanoGridError('VALIDATION_FAILED', message, { details: { field } });
}
