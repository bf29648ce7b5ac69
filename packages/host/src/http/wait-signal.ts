import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';

/** The signal a sync request's wait listens to, and its release once the wait is over. */
export interface RequestWait {
  readonly signal: AbortSignal;
  /** The wait is over: the request no longer listens for its client or the shutdown. */
  done(): void;
}

/**
 * Signals for sync waits: one aborts when the request's client goes away or
 * the host shuts down. Under Node's server it is one AbortController per
 * request, aborted from the response's `close` and from a single shutdown
 * listener: `c.req.raw.signal` builds the whole web Request, and
 * `AbortSignal.any` costs tens of µs per call (measured on the `/run` path).
 * Elsewhere (`app.request()` in tests) it combines the web Request's signal.
 */
export function requestWaits(shutdown?: AbortSignal): (c: Context) => RequestWait {
  const forResponse = responseWaits(shutdown);
  return (c) => {
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (!outgoing || typeof outgoing.once !== 'function') {
      const signals = [c.req.raw.signal, shutdown].filter((s): s is AbortSignal => s !== undefined);
      return { signal: AbortSignal.any(signals), done: () => undefined };
    }
    return forResponse(outgoing);
  };
}

/** As requestWaits, for a request served straight from Node's server: its response's `close` and the shutdown. */
export function responseWaits(shutdown?: AbortSignal): (outgoing: ServerResponse) => RequestWait {
  const live = new Set<AbortController>();
  shutdown?.addEventListener(
    'abort',
    () => {
      for (const ac of live) ac.abort(shutdown.reason);
    },
    { once: true },
  );
  return (outgoing) => {
    const ac = new AbortController();
    if (shutdown?.aborted) ac.abort(shutdown.reason);
    const onClose = (): void => {
      if (!outgoing.writableFinished) ac.abort(new Error('the client closed the connection'));
    };
    outgoing.once('close', onClose);
    live.add(ac);
    return {
      signal: ac.signal,
      done: () => {
        live.delete(ac);
        outgoing.off('close', onClose);
      },
    };
  };
}
