import { NanoGridError } from '@nanogrid/core';

/** `'a/b/'`, `'/a/b'` → `'a/b/'`; empty stays empty. The result is prepended to every key. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}

/**
 * Full object key of a backend key. Keys are relative `/`-separated paths: an empty key or
 * segment, a leading `/`, `.` or `..` could reach objects outside the prefix (or alias one
 * object under two keys), so they are refused.
 */
export function joinKey(root: string, key: string, plugin = 's3-storage'): string {
  if (!key || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '..' || part === '.')) {
    throw new NanoGridError('BAD_REQUEST', `${plugin}: invalid storage key "${key}"`, { plugin, details: { key } });
  }
  return root + key;
}
