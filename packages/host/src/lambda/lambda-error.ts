import { type ErrorCode, NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Where the Lambda API lives: the AWS SDKs and the aws CLI call these paths. */
export const LAMBDA_PREFIX = '/2015-03-31';

/** An error in the shape the AWS SDKs parse: `x-amzn-ErrorType` plus `{Type, Message}`. */
export class LambdaApiError extends Error {
  constructor(
    readonly type: string,
    readonly status: ContentfulStatusCode,
    message: string,
  ) {
    super(message);
  }
}

const BY_CODE: Partial<Record<ErrorCode, [string, ContentfulStatusCode]>> = {
  FUNCTION_NOT_FOUND: ['ResourceNotFoundException', 404],
  NOT_FOUND: ['ResourceNotFoundException', 404],
  CONFLICT: ['ResourceConflictException', 409],
  PAYLOAD_TOO_LARGE: ['RequestTooLargeException', 413],
  ARCHIVE_TOO_LARGE: ['RequestTooLargeException', 413],
  RATE_LIMITED: ['TooManyRequestsException', 429],
  TOO_MANY_REQUESTS: ['TooManyRequestsException', 429],
  UNAUTHORIZED: ['UnrecognizedClientException', 403],
  BAD_JSON: ['InvalidRequestContentException', 400],
  REQUEST_TIMEOUT: ['InvalidRequestContentException', 400],
  BACKEND_UNAVAILABLE: ['ServiceException', 503],
  SHUTTING_DOWN: ['ServiceException', 503],
};

/** Any error thrown under the Lambda routes, as Lambda would name it. */
export function toLambdaError(err: unknown): LambdaApiError {
  if (err instanceof LambdaApiError) return err;
  if (err instanceof NanoGridError) {
    const mapped = BY_CODE[err.code];
    if (mapped) return new LambdaApiError(mapped[0], mapped[1], err.message);
    // Bad fields, archives, runtimes, handlers and builds are the caller's to fix.
    if (err.status < 500) return new LambdaApiError('InvalidParameterValueException', 400, err.message);
    return new LambdaApiError('ServiceException', 500, err.message);
  }
  if (err instanceof HTTPException) {
    if (err.status === 413) return new LambdaApiError('RequestTooLargeException', 413, 'request body too large');
    return new LambdaApiError('InvalidRequestContentException', 400, err.message || `HTTP ${err.status}`);
  }
  return new LambdaApiError('ServiceException', 500, 'internal error; the details are in the server log');
}

export function lambdaErrorResponse(c: Context, err: LambdaApiError): Response {
  c.header('x-amzn-ErrorType', err.type);
  const Type = err.status < 500 ? 'User' : 'Service';
  return c.json({ Type, Message: err.message, message: err.message }, err.status);
}

export const notFoundFunction = (name: string) =>
  new LambdaApiError('ResourceNotFoundException', 404, `Function not found: ${name}`);

export const invalidParameter = (message: string) => new LambdaApiError('InvalidParameterValueException', 400, message);

export const unknownOperation = (method: string, path: string) =>
  new LambdaApiError('UnknownOperationException', 404, `Unknown operation ${method} ${path}`);
