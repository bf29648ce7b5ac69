import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local endpoint that records every callback and answers the statuses it is told to, in order (then 200). */
export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Statuses answered to the next requests, in order; once used up, 200. */
  answers: number[];
  /** Decides the status when set (ahead of `answers`). */
  respond?: (headers: IncomingHttpHeaders) => number;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const waiters: { n: number; resolve: (r: Received[]) => void }[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    received,
    answers: [],
    waitFor(n) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.statusCode = receiver.respond?.(req.headers) ?? receiver.answers.shift() ?? 200;
      res.end('ok');
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of [...waiters]) {
        if (received.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(received);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return receiver;
}
