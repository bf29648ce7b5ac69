import { createHash } from 'node:crypto';
import { NanoGridError } from '../errors.js';

/** Which version of a function a reference names. */
export type Qualifier = { kind: 'latest' } | { kind: 'version'; version: number } | { kind: 'alias'; alias: string };

/** A parsed `function` reference: `name`, `id`, `name:3`, `name:prod`, `id:latest`. */
export interface FunctionRef {
  /** The name or id before the `:`. */
  base: string;
  qualifier: Qualifier;
}

export const FUNCTION_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Ids are UUIDs; older ids and ids sent by other producers are any word characters. */
export const FUNCTION_ID_RE = /^[\w-]{1,128}$/;
/** The shape of the ids NanoGrid makes; names may not take it. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Starts with a letter, so it never reads as a version number. */
export const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const LATEST = new Set(['latest', '$LATEST']);
const MAX_VERSION = 1_000_000_000;

function badRef(field: string, message: string): NanoGridError {
  return new NanoGridError('VALIDATION_FAILED', message, { details: { field } });
}

/** Throws VALIDATION_FAILED unless `alias` may name an alias. */
export function checkAliasName(alias: string, field = 'alias'): void {
  if (!ALIAS_RE.test(alias) || LATEST.has(alias)) {
    throw badRef(
      field,
      `alias "${alias}" must be 1-64 letters, digits, "_" or "-", start with a letter, and not be "latest"`,
    );
  }
}

/** Throws VALIDATION_FAILED unless `v` is a version number (a whole number ≥ 1). */
export function checkVersion(v: unknown, field = 'version'): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_VERSION) {
    throw badRef(field, `version must be a whole number from 1 (the first deploy), got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Parses `base[:qualifier]`; VALIDATION_FAILED (naming `field`) for anything else. */
export function parseFunctionRef(ref: string, field = 'function'): FunctionRef {
  const parts = ref.split(':');
  const base = parts[0] ?? '';
  if (parts.length > 2 || !(FUNCTION_NAME_RE.test(base) || FUNCTION_ID_RE.test(base))) {
    throw badRef(
      field,
      `"${ref}" is not a function reference: use a name or id, optionally with ":<version>" or ":<alias>" (e.g. "hello", "hello:3", "hello:prod")`,
    );
  }
  const q = parts[1];
  if (q === undefined || LATEST.has(q)) return { base, qualifier: { kind: 'latest' } };
  if (/^\d+$/.test(q)) return { base, qualifier: { kind: 'version', version: checkVersion(q, field) } };
  checkAliasName(q, field);
  return { base, qualifier: { kind: 'alias', alias: q } };
}

/**
 * The id of the function called `name`: a UUID derived from the name, so every
 * controller agrees on it without a shared index, and a redeploy keeps it.
 */
export function functionIdOf(name: string): string {
  const h = createHash('sha256').update(`nanogrid-function:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50; // RFC 4122 layout (version 5 style, sha-256 based)
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Formats a reference back: `name:3`, `name:prod`, `name`. */
export function formatRef(base: string, q: Qualifier): string {
  return q.kind === 'version' ? `${base}:${q.version}` : q.kind === 'alias' ? `${base}:${q.alias}` : base;
}
