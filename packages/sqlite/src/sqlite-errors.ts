import { NanoGridError } from '@nanogrid/core';

/** What a person can do about each SQLite failure class. */
function advice(code: string, file: string): string {
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC') {
    return `the disk holding ${file} is full: free space there (the write was rolled back, nothing is half-written)`;
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return `${file} is held by another process: only one NanoGrid host may use a data directory (stop the other one, or give this one its own dataDir)`;
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EROFS') {
    return `${file} cannot be written: check the permissions and that the file system is mounted read-write`;
  }
  if (code.startsWith('SQLITE_CANTOPEN'))
    return `${file} cannot be opened: check that its directory exists and is writable`;
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) {
    return `${file} is damaged or not a NanoGrid database: move it aside (a new one is created) or restore a backup`;
  }
  if (code.startsWith('SQLITE_IOERR')) return `reading or writing ${file} failed (${code}): check the disk`;
  return `${file}: ${code}`;
}

/**
 * Turns a better-sqlite3 or file-system error into BACKEND_UNAVAILABLE (503:
 * the caller may retry; a worker redelivers) with a message naming the file
 * and the fix. Other errors (programming mistakes) pass through unchanged.
 */
export function toSqliteError(err: unknown, file: string, plugin: string): unknown {
  if (err instanceof NanoGridError) return err;
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !(code.startsWith('SQLITE_') || /^E[A-Z]+$/.test(code))) return err;
  return new NanoGridError('BACKEND_UNAVAILABLE', `${plugin}: ${advice(code, file)} — ${(err as Error).message}`, {
    plugin,
    cause: err,
    details: { file, sqlite_code: code },
  });
}
