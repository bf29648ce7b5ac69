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
  const retry = RETRY_AFTER[err.code];
  return c.json(errorBody(err), statusOf(err.code), retry ? { 'Retry-After': retry } : {});
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
 * `app.onError`: NanoGrid errors answer with their code's status; anything else
 * is a bug or an outage, logged with its stack and answered as INTERNAL without
 * leaking internals to the caller.
 */
export function onErrorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof NanoGridError) {
      if (err.status >= 500)
        logger.error('request failed', { method: c.req.method, path: c.req.path, code: err.code, error: err.message });
      return errorResponse(c, err);
    }
    if (err instanceof HTTPException) return errorResponse(c, fromHttpException(err));
    logger.error('unexpected error', { method: c.req.method, path: c.req.path, error: err.message, stack: err.stack });
    return errorResponse(c, new NanoGridError('INTERNAL', 'internal error; the details are in the server log'));
  };
}

export function notFoundHandler(c: Context): Response {
  return errorResponse(c, new NanoGridError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
}

/** A VALIDATION_FAILED error naming its field. */
export function invalidField(field: string, message: string): NanoGridError {
  return new NanoGridError('VALIDATION_FAILED', message, { details: { field } });
}
