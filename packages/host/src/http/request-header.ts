import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/**
 * A request header by its lower-case name. Under Node's server it is read from
 * the IncomingMessage's parsed headers: `c.req.header()` builds a web Headers
 * object from all of them on first use, a measurable cost on the `/run` path.
 * Repeated headers read as Node joins them (", "), as Headers.get does.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming?.headers) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
