import { type ErrorCode, NanoGridError } from '../errors.js';

export interface ByteBudgetOptions {
  /** Most bytes held at once. */
  maxBytes: number;
  /** Code of the error a refused `take` throws (an HTTP 503). */
  code: Extract<ErrorCode, 'QUEUE_FULL' | 'RESULTS_FULL'>;
  /** What is held, for the message: "queued job messages". */
  what: string;
  /** Plugin name shown in the error. */
  plugin: string;
  /** The config option an operator raises, for the message. */
  option: string;
}

/**
 * Bytes held by an in-process store, counted in O(1) per change. New data is
 * refused past `maxBytes` (`take` throws a 503 error with a clear code);
 * data already accepted (a job's later states) is always counted (`add`), so
 * nothing accepted is lost. Shared by every embedded queue and result store.
 */
export interface ByteBudget {
  readonly maxBytes: number;
  /** Bytes counted now. */
  readonly used: number;
  /** Whether `bytes` more would still fit. */
  fits(bytes: number): boolean;
  /** Counts `bytes` of new data, or throws the budget's code when they do not fit. */
  take(bytes: number): void;
  /** Counts `bytes` without a check (data already accepted); negative gives back. */
  add(bytes: number): void;
}

export function byteBudget(opts: ByteBudgetOptions): ByteBudget {
  if (!(opts.maxBytes > 0)) throw new RangeError(`maxBytes must be over 0, got ${opts.maxBytes}`);
  let used = 0;
  return {
    maxBytes: opts.maxBytes,
    get used() {
      return used;
    },
    fits: (bytes) => used + bytes <= opts.maxBytes,
    take(bytes) {
      if (used + bytes > opts.maxBytes) {
        throw new NanoGridError(
          opts.code,
          `${opts.plugin} is full: ${used} bytes of ${opts.what} are held and the budget is ${opts.maxBytes} (${opts.option}); retry later`,
          { plugin: opts.plugin, details: { used, limit: opts.maxBytes, requested: bytes } },
        );
      }
      used += bytes;
    },
    add(bytes) {
      used = Math.max(0, used + bytes);
    },
  };
}
