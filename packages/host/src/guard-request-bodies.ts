import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface BodyGuardOptions {
  /** Longest silence while a request body arrives, ms. */
  idleMs: number;
  /** Told about every dropped request (logging). */
  onDrop?: (req: IncomingMessage) => void;
}

const REQUEST_TIMEOUT_BODY = JSON.stringify({
  error: {
    code: 'REQUEST_TIMEOUT',
    message: 'the request body stalled: no byte arrived for too long; the connection is closed',
  },
});
const REQUEST_TIMEOUT_RESPONSE =
  'HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\n' +
  `Content-Length: ${Buffer.byteLength(REQUEST_TIMEOUT_BODY)}\r\n\r\n${REQUEST_TIMEOUT_BODY}`;

/**
 * Drops a request whose body stops arriving for `idleMs`: Node only bounds the
 * whole request (`requestTimeout`), which must stay long enough for a big
 * upload on a slow link. Progress is read from the socket's byte count, so
 * the guard neither consumes the body nor touches the socket's own timeout
 * (which Node uses for keep-alive). The guard ends when the request is fully
 * received: waiting for the answer (a sync `POST /run`) is never limited here.
 */
export function guardRequestBodies(server: Server, opts: BodyGuardOptions): void {
  const tick = Math.max(25, Math.floor(opts.idleMs / 4));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.complete) return;
    const socket = req.socket;
    let seen = socket.bytesRead;
    let quietSince = Date.now();
    const timer = setInterval(() => {
      if (req.complete || socket.destroyed) return stop();
      if (socket.bytesRead !== seen) {
        seen = socket.bytesRead;
        quietSince = Date.now();
        return;
      }
      if (Date.now() - quietSince < opts.idleMs) return;
      stop();
      opts.onDrop?.(req);
      if (res.headersSent) socket.destroy();
      else {
        socket.write(REQUEST_TIMEOUT_RESPONSE, () => socket.destroy());
        setTimeout(() => socket.destroy(), 1000).unref(); // a client that reads nothing either
      }
    }, tick);
    timer.unref();
    const stop = (): void => clearInterval(timer);
    req.once('end', stop);
    req.once('close', stop);
    res.once('close', stop);
  });
}
