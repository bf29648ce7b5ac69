import { NanoGridError } from '../errors.js';

/** Longest key accepted (S3's limit, in UTF-8 bytes). */
export const MAX_STORAGE_KEY_BYTES = 1024;

/**
 * Throws `BAD_REQUEST` unless `key` is a relative `/`-separated path with no
 * empty, `.` or `..` segment, no backslash and no control character. Every
 * backend checks keys the same way, so a key that works on one works on all
 * and none can reach outside its root.
 */
export function assertStorageKey(key: string, plugin?: string): void {
  const fail = (why: string) =>
    new NanoGridError('BAD_REQUEST', `invalid storage key ${JSON.stringify(key)}: ${why}`, {
      ...(plugin ? { plugin } : {}),
      details: { key },
    });
  if (typeof key !== 'string' || key.length === 0) throw fail('empty');
  if (Buffer.byteLength(key) > MAX_STORAGE_KEY_BYTES) throw fail(`longer than ${MAX_STORAGE_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) throw fail('control character or backslash');
  if (key.startsWith('/')) throw fail('absolute path');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw fail(`"${segment}" path segment`);
  }
}

/**
 * Checks a `list` prefix: the empty prefix, or a key-like string that may end
 * in `/` or in part of a name (`outputs/job-1/`, `functions/ab`).
 */
export function assertStoragePrefix(prefix: string, plugin?: string): void {
  if (prefix === '') return;
  assertStorageKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, plugin);
}

/** Percent-encodes each segment of a key for a URL path, keeping the `/` separators. */
export function encodeStorageKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Inverse of `encodeStorageKey` for a URL path such as `/files/<encoded key>`; malformed escapes are `BAD_REQUEST`. */
export function decodeStorageKey(encoded: string): string {
  try {
    return encoded.split('/').map(decodeURIComponent).join('/');
  } catch (err) {
    throw new NanoGridError('BAD_REQUEST', `malformed key in URL: ${JSON.stringify(encoded)}`, { cause: err });
  }
}
