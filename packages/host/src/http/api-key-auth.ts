import { createHash, timingSafeEqual } from 'node:crypto';
import { NanoGridError } from '@nanogrid/core';
import type { MiddlewareHandler } from 'hono';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * `Authorization: Bearer <key>` against the configured keys. Keys are compared
 * as SHA-256 digests with timingSafeEqual, so the comparison time tells nothing
 * about how much of a guess was right. No keys configured = open API.
 */
export function apiKeyAuth(keys: readonly string[]): MiddlewareHandler {
  const accepted = keys.map(digest);
  return async (c, next) => {
    if (accepted.length === 0) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new NanoGridError('UNAUTHORIZED', 'this API needs "Authorization: Bearer <api key>"');
    }
    const given = digest(match[1]);
    // Check every key (no early exit) so timing does not reveal which one matched.
    let ok = false;
    for (const key of accepted) ok = timingSafeEqual(key, given) || ok;
    if (!ok) {
      c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new NanoGridError('UNAUTHORIZED', 'the API key is not valid');
    }
    return next();
  };
}
