import type { Context } from 'hono';
import { readBodyText } from './read-body.js';
import { requestHeader } from './request-header.js';
import type { RunCall } from './run-call.js';
import { requestWaits } from './wait-signal.js';

/**
 * `POST /run` as Hono's route (see runCall). `nanogrid start` answers most of
 * them before Hono (fast-run.ts) through the same `run`, so both count the
 * same sync waits; this route serves the rest and `app.request()`.
 */
export function runHandler(run: RunCall, shutdownSignal?: AbortSignal) {
  const waitFor = requestWaits(shutdownSignal);
  return async (c: Context): Promise<Response> => {
    const answer = await run({
      header: (name) => requestHeader(c, name),
      body: (limit) => readBodyText(c, limit),
      wait: () => waitFor(c),
    });
    return c.json(answer.body, answer.status, answer.headers);
  };
}
