import { type ClientErrorCode, isNanoGridApiError } from '@nanogrid/client';

/** Exit statuses of the `nanogrid` client commands; scripts may rely on them. */
export const EXIT = {
  /** Done; for `invoke`, the job completed. */
  OK: 0,
  /** The job ran and failed (its error is printed), or a command failed locally (a file that cannot be read …). */
  FAILED: 1,
  /** A mistake on the command line (unknown flag, missing argument, bad nanogrid.json). */
  USAGE: 2,
  /** The API refused the request (4xx: validation, not found, unauthorized, conflict …). */
  REFUSED: 3,
  /** No usable answer: the host is unreachable, answered 5xx, or a wait ran out. */
  UNAVAILABLE: 4,
} as const;

const NO_ANSWER: readonly ClientErrorCode[] = ['UNREACHABLE', 'BAD_RESPONSE', 'WAIT_TIMEOUT'];

/** The exit status for an error thrown by a client command. */
export function exitCodeOf(err: unknown): number {
  if (!isNanoGridApiError(err)) return EXIT.FAILED;
  if ((NO_ANSWER as string[]).includes(err.code) || err.status >= 500) return EXIT.UNAVAILABLE;
  return EXIT.REFUSED;
}
