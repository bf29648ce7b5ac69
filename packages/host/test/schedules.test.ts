import { type JobRecord, ScheduleStore, Scheduler, silentLogger } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController } from '../src/index.js';
import { type TestHost, makeHost, upload } from './helpers.js';

const ECHO_PY = 'def handler(event, context):\n    return {"got": event}\n';

describe('schedule routes', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost({ rateLimit: false });
    await upload(host.app, {
      file: { name: 'echo.py', content: ECHO_PY },
      function_name: 'echo',
      runtime: 'python3.11',
      handler: 'echo.handler',
    });
  }, 60_000);
  afterAll(() => host?.close());

  const post = (path: string, body: unknown) =>
    host.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('are refused on a host without a scheduler, with a clear error', async () => {
    const res = await post('/functions/echo/schedules', { schedule: 'rate(1 minute)' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('claim') },
    });
  });

  it('create, list and delete; bad expressions and zones are VALIDATION_FAILED', async () => {
    const scheduler = { invalidate: () => undefined } as unknown as Scheduler;
    const app = createController({
      registry: host.nanogrid.registry,
      jobs: host.nanogrid.jobs,
      storage: host.nanogrid.storage,
      logger: silentLogger,
      schedules: { store: new ScheduleStore(host.nanogrid.storage), scheduler },
    });
    const req = (method: string, path: string, body?: unknown) =>
      app.request(path, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const created = await req('POST', '/functions/echo/schedules', {
      schedule: '*/5 * * * *',
      timezone: 'Europe/Paris',
      payload: { from: 'cron' },
    });
    expect(created.status).toBe(201);
    const s = (await created.json()) as { schedule_id: string };
    expect(s).toMatchObject({ function: 'echo', schedule: '*/5 * * * *', timezone: 'Europe/Paris' });
    const list = (await (await req('GET', '/functions/echo/schedules')).json()) as { schedules: unknown[] };
    expect(list.schedules).toHaveLength(1);
    for (const [body, field] of [
      [{ schedule: 'every 5 minutes' }, 'schedule'],
      [{ schedule: 'rate(5 minutes)', timezone: 'Mars/Base' }, 'timezone'],
      [{ schedule: 42 }, 'schedule'],
      // Hostile: a date that never comes, junk fields, a rate of 0, a sub-second cron, a huge payload.
      [{ schedule: '0 0 30 2 *' }, 'schedule'],
      [{ schedule: '* * * * * * *' }, 'schedule'],
      [{ schedule: 'rate(0 minutes)' }, 'schedule'],
      [{ schedule: `${'*/1 '.repeat(60)}` }, 'schedule'],
      [{ schedule: 'rate(1 minute)', timezone: '../../etc/localtime' }, 'timezone'],
    ] as const) {
      const r = await req('POST', '/functions/echo/schedules', body);
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field } });
    }
    const huge = await req('POST', '/functions/echo/schedules', {
      schedule: 'rate(1 minute)',
      payload: 'x'.repeat(3e5),
    });
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    expect(await huge.json()).toMatchObject({ error: { code: expect.stringMatching(/PAYLOAD_TOO_LARGE|VALIDATION/) } });
    expect((await req('POST', '/functions/nope/schedules', { schedule: 'rate(1 minute)' })).status).toBe(404);
    expect((await req('DELETE', `/functions/echo/schedules/${s.schedule_id}`)).status).toBe(200);
    expect((await req('DELETE', `/functions/echo/schedules/${s.schedule_id}`)).status).toBe(404);
    expect((await req('DELETE', '/functions/echo/schedules/..%2F..%2Fsecret')).status).toBe(404);
  });
});

describe('Scheduler with two controllers on one result sink', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost({ rateLimit: false });
    const res = await upload(host.app, {
      file: { name: 'echo.py', content: ECHO_PY },
      function_name: 'ticked',
      runtime: 'python3.11',
      handler: 'echo.handler',
    });
    expect(res.status).toBe(201);
  }, 60_000);
  afterAll(() => host?.close());

  it('fires each tick exactly once, tags jobs trigger=schedule, and skips ticks missed in an outage', async () => {
    const { storage, jobs, results } = host.nanogrid;
    const submitted: JobRecord[] = [];
    const counting = {
      submit: async (...args: Parameters<typeof jobs.submit>) => {
        const out = await jobs.submit(...args);
        submitted.push(out.record);
        return out;
      },
    };
    const store = new ScheduleStore(storage);
    const fn = await host.nanogrid.registry.get('ticked');
    const made = await store.create(fn.function_id, 'ticked', { schedule: 'rate(1 minute)', payload: { n: 1 } });
    // Backdated, so the test's clock (2026-01-01) is after the schedule's creation.
    await storage.put(
      `schedules/${fn.function_id}/${made.schedule_id}.json`,
      JSON.stringify({ ...made, created_at: '2026-01-01T00:00:10.000Z' }),
    );
    let now = Date.parse('2026-01-01T00:00:30Z');
    const make = (owner: string) =>
      new Scheduler({ store, jobs: counting, results, logger: silentLogger, owner, now: () => now });
    const [a, b] = [make('controller-a'), make('controller-b')];

    await Promise.all([a.tick(), b.tick()]); // no tick yet since creation
    expect(submitted).toHaveLength(0);
    now = Date.parse('2026-01-01T00:01:05Z'); // the 00:01:00 tick
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    expect(submitted).toHaveLength(1);
    now = Date.parse('2026-01-01T00:01:50Z'); // same minute: nothing new
    await Promise.all([a.tick(), b.tick()]);
    expect(submitted).toHaveLength(1);
    now = Date.parse('2026-01-01T00:11:20Z'); // ten minutes without a controller: the latest tick only
    await Promise.all([a.tick(), b.tick()]);
    expect(submitted).toHaveLength(2);
    expect(submitted.map((r) => r.trigger)).toEqual(['schedule', 'schedule']);
    const done = await jobs.wait(submitted[1]!.job_id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: 'completed', trigger: 'schedule', result: { got: { n: 1 } } });
  });
});
