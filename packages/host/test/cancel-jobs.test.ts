import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsStorage, memoryQueue, memoryResults } from '@nanogrid/core';
import { eventually } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorJson, type TestHost, deploy, pidsWith, run, startTestHost } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

type Job = {
  job_id: string;
  status: string;
  function_id: string;
  result?: unknown;
  logs?: string;
  error?: { code: string };
};

/** Sleeps in short steps forever: a running job to cancel. */
const SLEEP_PY = `import time
def handler(event, context):
    print("sleeping now", flush=True)
    while True:
        time.sleep(0.05)
`;
const QUICK_PY = `def handler(event, context):
    return {"ran": event.get("n")}
`;

async function json<T>(res: Response | Promise<Response>): Promise<{ status: number; body: T }> {
  const r = await res;
  return { status: r.status, body: (await r.json()) as T };
}

const submit = async (host: TestHost, fn: string, payload: unknown = {}) =>
  (await json<Job>(run(host.app, { function_id: fn, payload }, { 'x-async': 'true' }))).body.job_id;

// Two controllers share the queue, the job records and the storage; only `worker` runs jobs (one at a time).
describe.each([{ warm: true }, { warm: false }])('cancel and list jobs (process sandbox, warm $warm)', ({ warm }) => {
  let worker: TestHost;
  let other: TestHost;
  let dir: string;
  let sleeper: string;
  let quick: string;
  const token = `cancel-token-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-cancel-'));
    const shared = {
      queue: memoryQueue({ name: `q-cancel-${Math.random().toString(36).slice(2)}` }),
      results: memoryResults(),
      storage: fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
      warm: { enabled: warm, prewarm: {} },
      webhooks: { secret: 'whsec-cancel', allowNetworks: ['127.0.0.0/8'], retryMs: 20, sweepMs: 60_000 },
    };
    worker = await startTestHost({ sandbox: 'process', ...shared, worker: { concurrency: 1, pollWaitMs: 200 } });
    other = await startTestHost({ sandbox: 'process', ...shared, role: 'controller' });
    sleeper = await deploy(worker.app, 'sleeper', SLEEP_PY, { timeout: '120', env: JSON.stringify({ TOKEN: token }) });
    quick = await deploy(worker.app, 'quick', QUICK_PY);
  }, 60_000);
  afterAll(async () => {
    // The worker first: the shared queue is closed by whichever host closes first.
    await worker?.close();
    await other?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a running job cancelled through the other controller is killed; a pending one never runs; the next job runs', async () => {
    const running = await submit(other, sleeper);
    await eventually(
      async () => expect((await json<Job>(other.app.request(`/jobs/${running}`))).body.status).toBe('running'),
      30_000,
    );
    await eventually(async () => expect(await pidsWith(token)).not.toEqual([]), 10_000);
    // What it printed before the cancel reached the store: the cancelled record keeps it.
    await eventually(async () => {
      const live = await json<{ lines: { line: string }[] }>(other.app.request(`/jobs/${running}/logs`));
      expect(live.body.lines.map((l) => l.line)).toContain('sleeping now');
    }, 10_000);
    // Pending behind the running one (concurrency 1): had it run, it would sleep on and block the next job.
    const pending = await submit(other, sleeper);
    expect((await json<Job>(other.app.request(`/jobs/${pending}`))).body.status).toBe('pending');

    const p = await json<Job>(other.app.request(`/jobs/${pending}/cancel`, { method: 'POST' }));
    expect(p).toMatchObject({ status: 200, body: { status: 'cancelled', error: { code: 'CANCELLED' } } });
    const t0 = Date.now();
    const r = await json<Job>(other.app.request(`/jobs/${running}/cancel`, { method: 'POST' }));
    expect(r).toMatchObject({ status: 200, body: { status: 'cancelled', logs: 'sleeping now' } });
    // The sandbox's processes are gone within a couple of seconds, and the worker takes the next job.
    await eventually(async () => expect(await pidsWith(token)).toEqual([]), 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const next = await json<Job>(run(worker.app, { function_id: quick, payload: { n: 2 } }));
    expect(next).toMatchObject({ status: 200, body: { status: 'completed', result: { ran: 2 } } });
    expect(await pidsWith(token)).toEqual([]);
    // Neither job's record was overwritten by a late run: the pending one never ran, the running one stays cancelled.
    for (const id of [pending, running]) {
      const { body } = await json<Job>(worker.app.request(`/status/${id}`));
      expect(body).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
      expect(body.result).toBeUndefined();
    }
  }, 90_000);

  it('a cancelled job with a callback posts its cancelled record once', async () => {
    const receiver = await startReceiver();
    try {
      const res = await run(other.app, { function_id: sleeper, callback_url: receiver.url }, { 'x-async': 'true' });
      const { job_id } = (await res.json()) as Job;
      await eventually(
        async () => expect((await json<Job>(other.app.request(`/jobs/${job_id}`))).body.status).toBe('running'),
        30_000,
      );
      expect((await other.app.request(`/jobs/${job_id}/cancel`, { method: 'POST' })).status).toBe(200);
      const [got] = await receiver.waitFor(1);
      expect(JSON.parse(got?.body ?? '')).toMatchObject({ job_id, status: 'cancelled', error: { code: 'CANCELLED' } });
      await expect.poll(() => worker.nanogrid.webhooks.pending()).toEqual([]);
      // The killed run's own finish records and sends nothing: one delivery in all.
      const next = await json<Job>(run(worker.app, { function_id: quick, payload: { n: 9 } }));
      expect(next.body.status).toBe('completed');
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  }, 60_000);

  it('cancelling a final job is 409 CONFLICT; an unknown job is 404', async () => {
    const done = await json<Job>(run(other.app, { function_id: quick, payload: { n: 3 } }));
    expect(done.body.status).toBe('completed');
    const again = await json<ErrorJson>(other.app.request(`/jobs/${done.body.job_id}/cancel`, { method: 'POST' }));
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    expect((await json<Job>(worker.app.request(`/jobs/${done.body.job_id}`))).body.status).toBe('completed');
    const unknown = await json<ErrorJson>(other.app.request('/jobs/no-such-job/cancel', { method: 'POST' }));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'JOB_NOT_FOUND' } } });
  }, 60_000);

  it('GET /jobs lists newest first, filters by function and status, pages by cursor; bad queries are 400', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++)
      ids.push((await json<Job>(run(worker.app, { function_id: quick, payload: { n } }))).body.job_id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const q = `/jobs?function=quick&status=completed&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await json<{ jobs: Job[]; next_cursor?: string }>(other.app.request(q));
      expect(page.status).toBe(200);
      for (const j of page.body.jobs) expect(j).toMatchObject({ function_id: quick, status: 'completed' });
      seen.push(...page.body.jobs.map((j) => j.job_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.slice(0, 3)).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const cancelled = await json<{ jobs: Job[] }>(other.app.request(`/jobs?status=cancelled&function=${sleeper}`));
    expect(cancelled.body.jobs.map((j) => j.status)).toEqual(['cancelled', 'cancelled', 'cancelled']); // the sleepers above
    const future = await json<{ jobs: Job[] }>(other.app.request('/jobs?since=2999-01-01T00:00:00Z'));
    expect(future.body.jobs).toEqual([]);
    for (const [q, field] of [
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=101', 'limit'],
      ['status=done', 'status'],
      ['since=yesterday', 'since'],
      ['cursor=%7B%7D', 'cursor'],
    ] as const) {
      const res = await json<ErrorJson & { error: { details?: { field?: string } } }>(other.app.request(`/jobs?${q}`));
      expect(res.status, q).toBe(400);
      expect(res.body.error.code === 'VALIDATION_FAILED' || res.body.error.code === 'BAD_REQUEST', q).toBe(true);
      if (field !== 'cursor') expect(JSON.stringify(res.body.error), q).toContain(field);
    }
    const unknownFn = await json<ErrorJson>(other.app.request('/jobs?function=nope'));
    expect(unknownFn).toMatchObject({ status: 404, body: { error: { code: 'FUNCTION_NOT_FOUND' } } });
  }, 60_000);
});
