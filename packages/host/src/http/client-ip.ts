import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/** The right-most non-empty entry of an `X-Forwarded-For` value (see clientIp). */
export function lastForwardedFor(forwarded: string | undefined): string | undefined {
  return forwarded
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .at(-1);
}

/**
 * The caller's address. By default the socket's peer: a client cannot forge it.
 * Behind a load balancer every request comes from the balancer, so with
 * `trustProxy` the right-most `X-Forwarded-For` entry is used — the address the
 * nearest (trusted) proxy saw; entries further left are set by the client and
 * could be spoofed to dodge the rate limit.
 */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const last = lastForwardedFor(c.req.header('x-forwarded-for'));
    if (last) return last;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // No Node socket (app.request() in tests, other adapters): one shared bucket.
    return 'unknown';
  }
}
