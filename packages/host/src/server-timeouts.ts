import type { ServerOptions } from 'node:http';
import { NanoGridError } from '@nanogrid/core';

export interface ServerTimeoutOptions {
  /** Time to receive a request's header block, ms. @default 10_000 */
  headersTimeoutMs?: number;
  /** Longest silence while a request body arrives, ms. @default 10_000 */
  bodyIdleTimeoutMs?: number;
  /** Time to receive a whole request (headers and body), ms. @default 300_000 */
  requestTimeoutMs?: number;
}

export interface ServerTimeouts
  extends Required<
    Pick<ServerOptions, 'requestTimeout' | 'headersTimeout' | 'keepAliveTimeout' | 'connectionsCheckingInterval'>
  > {
  /** Socket inactivity timeout of the server: 0, a sync `/run` is silent while it waits. */
  timeout: number;
  /** Longest silence while a body arrives (enforced by `guardRequestBodies`). */
  bodyIdleTimeout: number;
}

/**
 * Node's HTTP server timeouts, set explicitly. They bound *receiving* a
 * request, never answering it: a sync `POST /run` sends no byte while the
 * function runs, and Node stops applying `requestTimeout` and `headersTimeout`
 * once the request is fully read, so a long wait is never cut.
 * - `headersTimeout`: a header drip (slowloris) is answered 408 and closed.
 * - `requestTimeout`: the whole request, for bodies that trickle in.
 * - `bodyIdleTimeout`: a body that stalls is dropped in seconds (guardRequestBodies).
 * - `connectionsCheckingInterval`: how often Node looks for expired requests;
 *   its default (30 s) would let a stalled client live that much longer.
 * - `keepAliveTimeout` outlives common load-balancer idle timeouts (AWS ALB: 60 s)
 *   so the balancer, not Node, closes idle connections (avoids 502 races). An idle
 *   keep-alive connection is not "receiving headers": headersTimeout does not apply to it.
 */
export function serverTimeouts(opts: ServerTimeoutOptions = {}): ServerTimeouts {
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = opts.requestTimeoutMs ?? 300_000;
  const bodyIdleTimeout = opts.bodyIdleTimeoutMs ?? 10_000;
  if (headersTimeout > requestTimeout) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `http.headersTimeoutMs (${headersTimeout}) must not be over http.requestTimeoutMs (${requestTimeout})`,
      {
        details: { field: 'http.headersTimeoutMs' },
      },
    );
  }
  return {
    headersTimeout,
    requestTimeout,
    bodyIdleTimeout,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    keepAliveTimeout: 65_000,
    timeout: 0,
  };
}
