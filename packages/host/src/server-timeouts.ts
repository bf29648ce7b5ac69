import type { ServerOptions } from 'node:http';

export interface ServerTimeoutOptions {
  /** Longest function timeout the host accepts, seconds (`limits.maxTimeoutSec`). */
  maxFunctionTimeoutSec: number;
  /** Extra time on top of it for queueing, uploads and the sync margin. @default 300 */
  marginSec?: number;
}

/**
 * Node's HTTP server timeouts, set explicitly. A sync `POST /run` sends no byte
 * while the function runs, so nothing may cut an open request before the
 * longest function timeout:
 * - `requestTimeout` (Node 18+ default 300 s) bounds receiving the whole request
 *   (large uploads on slow links); it is raised to the function ceiling + margin.
 * - `timeout` (socket inactivity) stays 0: the socket is silent during a sync wait.
 * - `keepAliveTimeout` outlives common load-balancer idle timeouts (AWS ALB: 60 s)
 *   so the balancer, not Node, closes idle connections (avoids 502 races);
 *   `headersTimeout` must exceed it.
 */
export function serverTimeouts(opts: ServerTimeoutOptions): Required<
  Pick<ServerOptions, 'requestTimeout' | 'headersTimeout' | 'keepAliveTimeout'>
> & {
  timeout: number;
} {
  const margin = opts.marginSec ?? 300;
  return {
    requestTimeout: (opts.maxFunctionTimeoutSec + margin) * 1000,
    keepAliveTimeout: 65_000,
    headersTimeout: 66_000,
    timeout: 0,
  };
}
