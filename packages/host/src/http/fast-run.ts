import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@nanogrid/core';
import type { KeyRefusal } from './api-key-auth.js';
import { lastForwardedFor } from './client-ip.js';
import { errorAnswer, requestError } from './error-response.js';
import type { RateLimitHit } from './rate-limit.js';
import { readIncoming } from './read-body.js';
import type { RunCall } from './run-call.js';
import { responseWaits } from './wait-signal.js';

export interface FastRunOptions {
  /** The same `POST /run` as Hono's route (one count of sync waits for both). */
  run: RunCall;
  /** Counts the request against the rate limit, as the app's middleware does. Absent: no limit. */
  rateLimit?: (key: string) => Promise<RateLimitHit>;
  /** Checks the `Authorization` header, as the app's middleware does. Absent: an open API. */
  auth?: (authorization: string | undefined) => KeyRefusal | undefined;
  /** Take the client IP from `X-Forwarded-For` (see clientIp). @default false */
  trustProxy?: boolean;
  logger: Logger;
  /** Aborted at shutdown: pending sync runs answer 202 + poll instead of hanging. */
  shutdownSignal?: AbortSignal;
}

/** Answers a request it takes (true), or leaves it to the next listener (false). */
export type FastRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/**
 * Every value of a header Node keeps only once (`authorization`: a repeat is dropped from `req.headers`), joined
 * as a web Request's Headers (Hono's routes) join them: a request sending two keys gets one answer either way.
 */
function joinedRaw(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.length === name.length && raw[i]?.toLowerCase() === name) {
      value = value === undefined ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
    }
  }
  return value;
}

/** As clientIp() does for Hono's routes: the socket's peer, or the right-most X-Forwarded-For behind a proxy. */
function clientIpOf(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const last = lastForwardedFor(header(req, 'x-forwarded-for'));
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * `POST /run` served straight from Node's server, before Hono: the hot route
 * of the API skips building a web Request, Hono's routing and middleware
 * chain and its Response. It does what that chain does for this route, in
 * its order — the rate limit, the API key, then the route (runCall) — with
 * the same answers, errors and headers; every other request goes to Hono.
 */
export function fastRun(opts: FastRunOptions): FastRoute {
  const waitFor = responseWaits(opts.shutdownSignal);
  const trustProxy = opts.trustProxy ?? false;
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const headers: Record<string, string> = {};
    try {
      if (opts.rateLimit) {
        const hit = await opts.rateLimit(clientIpOf(req, trustProxy));
        Object.assign(headers, hit.headers);
        if (hit.error) throw hit.error;
      }
      const refused = opts.auth?.(joinedRaw(req, 'authorization'));
      if (refused) {
        headers['WWW-Authenticate'] = refused.wwwAuthenticate;
        throw refused.error;
      }
      const answer = await opts.run({
        header: (name) => header(req, name),
        body: async (limit) => (await readIncoming(req, limit)).toString('utf8'),
        wait: () => waitFor(res),
      });
      send(res, answer.status, answer.headers ? { ...headers, ...answer.headers } : headers, answer.body);
    } catch (err) {
      const answer = errorAnswer(requestError(err as Error, opts.logger, 'POST', '/run'));
      send(res, answer.status, { ...headers, ...answer.headers }, answer.body);
    }
  };
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url;
    if (url !== '/run' && !url?.startsWith('/run?')) return false;
    serve(req, res).catch((err: Error) => {
      // Only an answer that could not be written lands here: the connection is the one thing left to end.
      opts.logger.error('POST /run could not answer', { error: err.message });
      res.destroy();
    });
    return true;
  };
}
