import { assertStorageKey, assertStoragePrefix } from '@nanogrid/core';

/** `'a/b/'`, `'/a/b'` → `'a/b/'`; empty stays empty. The result is prepended to every key. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}

/** Full object key of a backend key, after the same key checks every backend makes (`BAD_REQUEST`). */
export function joinKey(root: string, key: string, plugin = 's3-storage'): string {
  assertStorageKey(key, plugin);
  return root + key;
}

/** Full object prefix of a `list()` prefix. */
export function joinPrefix(root: string, prefix: string, plugin = 's3-storage'): string {
  assertStoragePrefix(prefix, plugin);
  return root + prefix;
}
