import type { ErrorCode } from './api-types.js';

/** Codes the client itself raises when no answer of the API came back. */
export type ClientErrorCode = 'UNREACHABLE' | 'BAD_RESPONSE' | 'WAIT_TIMEOUT';

/**
 * A request the API refused (its `error.code` and HTTP status), or one that got
 * no usable answer (`UNREACHABLE`, `BAD_RESPONSE`, `WAIT_TIMEOUT`, status 0).
 */
export class NanoGridApiError extends Error {
  override readonly name = 'NanoGridApiError';
  readonly code: ErrorCode | ClientErrorCode;
  /** HTTP status; 0 when there was no answer. */
  readonly status: number;
  /** The request field at fault, when the server named one. */
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode | ClientErrorCode,
    message: string,
    opts: { status?: number; field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? 0;
    this.field = opts.field;
    this.details = opts.details;
  }
}

export function isNanoGridApiError(err: unknown, code?: ErrorCode | ClientErrorCode): err is NanoGridApiError {
  return err instanceof NanoGridApiError && (code === undefined || err.code === code);
}
