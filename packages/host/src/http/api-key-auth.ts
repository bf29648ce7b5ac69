import { createHash, timingSafeEqual } from 'node:crypto';
import { NanoGridError } from '@nanogrid/core';
import type { MiddlewareHandler } from 'hono';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Why a request's key was refused, and the `WWW-Authenticate` its answer carries. */
export interface KeyRefusal {
  error: NanoGridError;
  wwwAuthenticate: string;
}

/**
 * Checks an `Authorization` header against the configured keys: undefined when
 * it may pass. Keys are compared as SHA-256 digests with timingSafeEqual, so
 * the comparison time tells nothing about how much of a guess was right. No
 * keys configured = open API.
 */
export function apiKeyCheck(keys: readonly string[]): (authorization: string | undefined) => KeyRefusal | undefined {
  const accepted = keys.map(digest);
  return (authorization) => {
    if (accepted.length === 0) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      return {
        error: new NanoGridError('UNAUTHORIZED', 'this API needs "Authorization: Bearer <api key>"'),
        wwwAuthenticate: 'Bearer',
      };
    }
    const given = digest(match[1]);
    // Check every key (no early exit) so timing does not reveal which one matched.
    let ok = false;
    for (const key of accepted) ok = timingSafeEqual(key, given) || ok;
    if (ok) return undefined;
    return {
      error: new NanoGridError('UNAUTHORIZED', 'the API key is not valid'),
      wwwAuthenticate: 'Bearer error="invalid_token"',
    };
  };
}

/** `Authorization: Bearer <key>` against the configured keys (see apiKeyCheck). */
export function apiKeyAuth(keys: readonly string[]): MiddlewareHandler {
  const check = apiKeyCheck(keys);
  return async (c, next) => {
    if (keys.length === 0) return next();
    const refused = check(c.req.header('authorization'));
    if (refused) {
      c.header('WWW-Authenticate', refused.wwwAuthenticate);
      throw refused.error;
    }
    return next();
  };
}
