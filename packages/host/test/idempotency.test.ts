import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestHost, makeHost, upload } from './helpers.js';

const COUNT_PY = `import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"job": context.aws_request_id if hasattr(context, "aws_request_id") else None, "n": event.get("n")}
`;

let host: TestHost;
const run = (body: unknown, headers: Record<string, string> = {}) =>
  host.app.request('/run', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  host = await makeHost({ rateLimit: false });
  const res = await upload(host.app, {
    file: { name: 'count.py', content: COUNT_PY },
    function_name: 'count',
    runtime: 'python3.11',
    handler: 'count.handler',
  });
  expect(res.status).toBe(201);
}, 60_000);
afterAll(() => host?.close());

describe('Idempotency-Key on POST /run', () => {
  it('the same key and body gives the same job, sync and async', async () => {
    const key = { 'idempotency-key': `k-${Date.now()}` };
    const first = await run({ function: 'count', payload: { n: 1 } }, key);
    expect(first.status).toBe(200);
    const a = (await first.json()) as { job_id: string };
    const again = await run({ function: 'count', payload: { n: 1 } }, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toMatchObject({ job_id: a.job_id, status: 'completed', result: { n: 1 } });
    const asAsync = await run({ function: 'count', payload: { n: 1 } }, { ...key, 'x-async': 'true' });
    expect(asAsync.status).toBe(202);
    expect(await asAsync.json()).toMatchObject({ job_id: a.job_id });
  });

  it('the same key with a different body is 409 IDEMPOTENCY_CONFLICT naming the first job', async () => {
    const key = { 'idempotency-key': `k2-${Date.now()}` };
    const first = (await (await run({ function: 'count', payload: { n: 1 } }, key)).json()) as { job_id: string };
    const other = await run({ function: 'count', payload: { n: 2 } }, key);
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({
      error: { code: 'IDEMPOTENCY_CONFLICT', details: { job_id: first.job_id } },
    });
  });

  it('concurrent requests with one key queue one job', async () => {
    const key = { 'idempotency-key': `k3-${Date.now()}`, 'x-async': 'true' };
    // Every answer naming one job id is not enough: each request could have queued that id again.
    const submits = vi.spyOn(host.nanogrid.jobs, 'submit');
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => run({ function: 'count', payload: { n: 3, sleep: 0.2 } }, key)),
      );
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(202));
      const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { job_id: string }).job_id)));
      expect(ids.size).toBe(1);
      expect(submits).toHaveBeenCalledTimes(1);
    } finally {
      submits.mockRestore();
    }
  });

  it('keys are scoped to the caller, checked for shape, and a refused first try can be retried', async () => {
    const key = `k4-${Date.now()}`;
    const a = (await (await run({ function: 'count', payload: { n: 4 } }, { 'idempotency-key': key })).json()) as {
      job_id: string;
    };
    const b = (await (
      await run({ function: 'count', payload: { n: 4 } }, { 'idempotency-key': key, authorization: 'Bearer other' })
    ).json()) as { job_id: string };
    expect(b.job_id).not.toBe(a.job_id);
    // The same key spelled another way in the header is the same caller: a replay, not a second job.
    const c = await run(
      { function: 'count', payload: { n: 4 } },
      { 'idempotency-key': key, authorization: 'bearer   other ' },
    );
    expect(c.headers.get('idempotent-replayed')).toBe('true');
    expect(((await c.json()) as { job_id: string }).job_id).toBe(b.job_id);
    for (const bad of ['', 'x'.repeat(256), 'has space']) {
      const r = await run({ function: 'count', payload: {} }, { 'idempotency-key': bad });
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'Idempotency-Key' } });
    }
    const retryKey = { 'idempotency-key': `k5-${Date.now()}` };
    expect((await run({ function: 'not-yet', payload: {} }, retryKey)).status).toBe(404);
    await upload(host.app, {
      file: { name: 'count.py', content: COUNT_PY },
      function_name: 'not-yet',
      runtime: 'python3.11',
      handler: 'count.handler',
    });
    expect((await run({ function: 'not-yet', payload: {} }, retryKey)).status).toBe(200);
  });

  it('two retries racing after a refused first try: one runs it, the other is told to retry (409 CONFLICT)', async () => {
    const key = { 'idempotency-key': `k6-${Date.now()}` };
    expect((await run({ function: 'later', payload: {} }, key)).status).toBe(404);
    await upload(host.app, {
      file: { name: 'count.py', content: COUNT_PY },
      function_name: 'later',
      runtime: 'python3.11',
      handler: 'count.handler',
    });
    const submits = vi.spyOn(host.nanogrid.jobs, 'submit');
    try {
      const both = await Promise.all([
        run({ function: 'later', payload: {} }, key),
        run({ function: 'later', payload: {} }, key),
      ]);
      expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
      const refused = both.find((r) => r.status === 409)!;
      expect(await refused.json()).toMatchObject({ error: { code: 'CONFLICT' } });
      expect(submits).toHaveBeenCalledTimes(1);
    } finally {
      submits.mockRestore();
    }
  });
});
