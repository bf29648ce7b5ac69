/** Every error code NanoGrid reports. HTTP statuses and tests key on these, never on message text. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  BAD_JSON: 400,
  BAD_ARCHIVE: 400,
  ARCHIVE_PATH_TRAVERSAL: 400,
  ARCHIVE_LINK_ESCAPE: 400,
  ARCHIVE_TOO_MANY_ENTRIES: 400,
  ARCHIVE_TOO_LARGE: 413,
  HANDLER_NOT_FOUND: 400,
  UNSUPPORTED_FILE_TYPE: 400,
  RUNTIME_NOT_FOUND: 400,
  BUILD_FAILED: 422,
  UNAUTHORIZED: 401,
  LINK_INVALID: 403,
  FUNCTION_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  /** The job was cancelled (`POST /jobs/{id}/cancel`) before it finished. */
  CANCELLED: 409,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  REQUEST_TIMEOUT: 408,
  RATE_LIMITED: 429,
  TOO_MANY_REQUESTS: 429,
  FUNCTION_ERROR: 500,
  IMPORT_ERROR: 500,
  NON_ZERO_EXIT: 500,
  TIMEOUT: 504,
  OUT_OF_MEMORY: 500,
  OUTPUT_TOO_LARGE: 500,
  RESULT_TOO_LARGE: 500,
  BAD_RESULT: 500,
  SANDBOX_ERROR: 500,
  SANDBOX_UNAVAILABLE: 500,
  IMAGE_NOT_FOUND: 500,
  BAD_MESSAGE: 400,
  CONFIG_INVALID: 500,
  BACKEND_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  QUEUE_FULL: 503,
  RESULTS_FULL: 503,
  /** The host stopped while it ran the job in-process (a sync call, not queued): it did not run again. */
  WORKER_LOST: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface NanoGridErrorOptions {
  /** Name of the plugin that raised it (`s3-storage`, `python` …). */
  plugin?: string;
  cause?: unknown;
  /** Extra JSON-safe facts for the caller (limits, offending path …). */
  details?: Record<string, unknown>;
}

/** The one error type of NanoGrid: a string-literal `code`, a message a person can act on. */
export class NanoGridError extends Error {
  override readonly name = 'NanoGridError';
  readonly code: ErrorCode;
  readonly plugin: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: NanoGridErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.plugin = opts.plugin;
    this.details = opts.details;
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; plugin?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.plugin ? { plugin: this.plugin } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isNanoGridError(err: unknown, code?: ErrorCode): err is NanoGridError {
  return err instanceof NanoGridError && (code === undefined || err.code === code);
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code);
}

/** Wraps anything thrown into a NanoGridError, keeping one that already is. */
export function toNanoGridError(err: unknown, fallback: ErrorCode = 'INTERNAL', plugin?: string): NanoGridError {
  if (err instanceof NanoGridError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new NanoGridError(fallback, message, { cause: err, ...(plugin ? { plugin } : {}) });
}
