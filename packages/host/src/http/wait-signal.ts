import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setMaxListeners } from 'node:events';
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

/** Why a wait ends when its client goes: a constant, since `abort()` without a reason builds a DOMException. */
const CLIENT_GONE = new Error('the client closed the connection');
const NOTHING_TO_RELEASE = (): void => undefined;

/**
 * As requestWaits, for a request served straight from Node's server: its connection's `close` and the shutdown.
 * One AbortController per connection, not per request: a keep-alive client's calls share it (an HTTP/1.1
 * response ends only with its connection or by finishing, so a request's client is gone exactly when the
 * connection closes), and a wait only adds and removes its listener. Creating a controller, its signal and a
 * `close` listener per call was a measurable share of the `/run` path.
 */
export function responseWaits(shutdown?: AbortSignal): (outgoing: ServerResponse) => RequestWait {
  const bySocket = new WeakMap<Socket, AbortController>();
  const live = new Set<AbortController>();
  shutdown?.addEventListener(
    'abort',
    () => {
      for (const ac of live) ac.abort(shutdown.reason);
    },
    { once: true },
  );
  return (outgoing) => {
    // The request's socket: a pipelined call's response has none until the calls before it are answered.
    const socket = outgoing.req?.socket ?? outgoing.socket;
    let ac = socket ? bySocket.get(socket) : undefined;
    if (!ac) {
      ac = new AbortController();
      const own = ac;
      if (shutdown?.aborted) own.abort(shutdown.reason);
      else if (!socket || socket.destroyed) own.abort(CLIENT_GONE);
      else {
        // Pipelined requests wait on one connection at once: each adds a listener (and removes it after), as many
        // as the client sent, so Node's leak warning past 10 would only be noise here.
        setMaxListeners(0, own.signal);
        bySocket.set(socket, own);
        live.add(own);
        socket.once('close', () => {
          live.delete(own);
          own.abort(CLIENT_GONE);
        });
      }
    }
    return { signal: ac.signal, done: NOTHING_TO_RELEASE };
  };
}
