import { createHash } from 'node:crypto';
import { invalidField } from './error-response.js';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's `Idempotency-Key`, scoped to its credentials so two clients
 * with different API keys never share one; undefined when none was sent.
 */
export function idempotencyKey(header: (name: string) => string | undefined): string | undefined {
  const key = header('idempotency-key');
  if (key === undefined) return undefined;
  if (!KEY_RE.test(key)) {
    throw invalidField('Idempotency-Key', 'Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID');
  }
  // The key itself, not how the header spells it ("bearer  k" is the same caller as "Bearer k").
  const authorization = header('authorization') ?? '';
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? authorization;
  const who = createHash('sha256').update(token).digest('hex').slice(0, 32);
  return `${who}:${key}`;
}

/** What a run asks for (function, payload, callback): the same key with another fingerprint is a conflict. */
export function runFingerprint(ref: string, payload: unknown, callback?: unknown): string {
  // Without a callback the fingerprint is what it was before callbacks existed (keys live 24 h across upgrades).
  return createHash('sha256')
    .update(JSON.stringify(callback === undefined ? [ref, payload] : [ref, payload, callback]))
    .digest('hex');
}
