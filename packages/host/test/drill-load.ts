import type { Hono } from 'hono';
import { expect } from 'vitest';
import { run } from './helpers.js';

/** A function that answers its own index, after a short pause (jobs overlap the outage). */
export const ECHO_PY = `import time

def handler(event, context):
    time.sleep(0.02)
    return {"i": event["i"]}
`;

export interface Submitted {
  /** Job id of every submission the host accepted (202), by index. */
  accepted: Map<number, string>;
  /** Error codes of the submissions it refused, by index. */
  refused: Map<number, string>;
}

/**
 * Submits async jobs `from`..`to`-1, `at` at once. A refused one is recorded
 * (it was never accepted) and, with `retryForMs`, sent again as a client would
 * until accepted or that time has passed.
 */
export async function submitJobs(
  app: Hono,
  functionId: string,
  from: number,
  to: number,
  out: Submitted,
  opts: { at?: number; retryForMs?: number } = {},
) {
  let next = from;
  const until = Date.now() + (opts.retryForMs ?? 0);
  await Promise.all(
    Array.from({ length: opts.at ?? 8 }, async () => {
      while (next < to) {
        const i = next++;
        for (;;) {
          const res = await run(app, { function_id: functionId, payload: { i } }, { 'X-Async': 'true' });
          const body = (await res.json()) as { job_id?: string; error?: { code: string } };
          if (res.status === 202 && body.job_id) {
            out.accepted.set(i, body.job_id);
            break;
          }
          out.refused.set(i, body.error?.code ?? `HTTP ${res.status}`);
          if (Date.now() >= until) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }),
  );
}

/** Waits until every accepted job reads completed with its own index as result; returns how long it took. */
export async function expectAllCompleted(app: Hono, accepted: Map<number, string>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const pending = new Map(accepted);
  while (pending.size > 0 && Date.now() - t0 < timeoutMs) {
    for (const [i, id] of [...pending]) {
      const res = await app.request(`/status/${id}`);
      if (res.status === 503) continue; // the backend may still be coming back
      expect(res.status).toBe(200);
      const rec = (await res.json()) as { status: string; result?: unknown; error?: unknown };
      if (rec.status === 'completed' || rec.status === 'failed') {
        expect(rec).toMatchObject({ status: 'completed', result: { i } });
        pending.delete(i);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  expect([...pending.keys()]).toEqual([]);
  return Date.now() - t0;
}
