import type { FunctionStats, StatsSummary, SystemInfo } from '@nanogrid/client';
import { NanoGridError, type Sandbox, silentLogger } from '@nanogrid/core';
import { eventually } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController } from '../src/index.js';
import { type ErrorJson, FAIL_PY, HELLO_PY, type TestHost, deploy, makeHost, run, startTestHost } from './helpers.js';

async function get<T>(host: TestHost, path: string): Promise<{ status: number; body: T }> {
  const res = await host.app.request(path);
  return { status: res.status, body: (await res.json()) as T };
}

describe('GET /functions/{ref}/stats, /stats/functions, /system (one host)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost();
    await deploy(host.app, 'st-ok', HELLO_PY);
    await deploy(host.app, 'st-fail', FAIL_PY);
    await deploy(host.app, 'st-idle', HELLO_PY);
    for (let i = 0; i < 3; i += 1)
      expect((await run(host.app, { function: 'st-ok', payload: { name: i } })).status).toBe(200);
    expect((await run(host.app, { function: 'st-fail' })).status).toBe(500);
    // A sync answer can come before the worker has counted the job: wait until it is done, then write now.
    await eventually(async () => expect(host.nanogrid.worker?.inFlight).toBe(0), 5000);
    await host.nanogrid.stats.flush();
  });
  afterAll(async () => {
    await host?.close();
  });

  it('counts runs per minute bucket: invocations, errors, durations, starts, peak memory', async () => {
    const { status, body } = await get<FunctionStats>(host, '/functions/st-ok/stats?window=1h&step=60');
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'st-ok', step_s: 60 });
    expect(body.buckets).toHaveLength(60);
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(3_600_000);
    expect(body.totals).toMatchObject({ invocations: 3, errors: 0 });
    expect(body.totals.cold + body.totals.warm).toBe(3);
    expect(body.totals.p50_ms).toBeGreaterThan(0);
    expect(body.totals.p95_ms).toBeGreaterThanOrEqual(body.totals.p50_ms ?? 0);
    // The buckets add up to the totals, and the runs sit in the last ones (now).
    expect(body.buckets.reduce((n, b) => n + b.invocations, 0)).toBe(3);
    expect(body.buckets.slice(0, 50).every((b) => b.invocations === 0 && b.p50_ms === null)).toBe(true);
    expect(body.buckets.map((b) => b.t)).toEqual(body.buckets.map((_, i) => Date.parse(body.from) / 1000 + i * 60));

    const failed = await get<FunctionStats>(host, '/functions/st-fail/stats?window=15m&step=300');
    expect(failed.body.buckets).toHaveLength(3);
    expect(failed.body.totals).toMatchObject({ invocations: 1, errors: 1 });
  });

  it('the default step gives about 60 buckets; a 24 h window is allowed', async () => {
    const day = await get<FunctionStats>(host, '/functions/st-ok/stats?window=24h');
    expect([day.status, day.body.step_s, day.body.buckets.length, day.body.totals.invocations]).toEqual([
      200, 1440, 60, 3,
    ]);
    const dflt = await get<FunctionStats>(host, '/functions/st-ok/stats');
    expect([dflt.body.step_s, dflt.body.buckets.length]).toEqual([60, 60]);
  });

  it('the summary lists every function, zeros included', async () => {
    const { status, body } = await get<StatsSummary>(host, '/stats/functions?window=1h');
    expect(status).toBe(200);
    const by = Object.fromEntries(body.functions.map((f) => [f.name, [f.invocations, f.errors]]));
    expect(by).toEqual({ 'st-ok': [3, 0], 'st-fail': [1, 1], 'st-idle': [0, 0] });
  });

  it.each([
    ['window=25h', 'window'],
    ['window=86401', 'window'],
    ['window=999999h', 'window'],
    ['window=NaN', 'window'],
    ['window=-1h', 'window'],
    ['window=1e3', 'window'],
    ['window=90s', 'window'],
    ['window=0', 'window'],
    [`window=${'9'.repeat(5000)}`, 'window'],
    ['step=59', 'step'],
    ['step=90', 'step'],
    ['step=NaN', 'step'],
    ['step=0', 'step'],
    ['step=-60', 'step'],
    ['step=7200', 'step'],
    ['step=60.0', 'step'],
    ['window=1h&step=Infinity', 'step'],
  ])('a bad query (%s) is VALIDATION_FAILED naming the field', async (qs, field) => {
    const { status, body } = await get<ErrorJson>(host, `/functions/st-ok/stats?${qs}`);
    expect([status, body.error.code, body.error.field]).toEqual([400, 'VALIDATION_FAILED', field]);
    if (field === 'window') {
      const summary = await get<ErrorJson>(host, `/stats/functions?${qs}`);
      expect([summary.status, summary.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('an unknown or malformed function is an error, not empty stats', async () => {
    const missing = await get<ErrorJson>(host, '/functions/nope-never-deployed/stats');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'FUNCTION_NOT_FOUND']);
    const hostile = await get<ErrorJson>(host, `/functions/${encodeURIComponent('../../etc:x')}/stats`);
    expect(hostile.status).toBeGreaterThanOrEqual(400);
    expect(hostile.status).toBeLessThan(500);
  });

  it('GET /system: this host (controller and worker), queue, desired workers, sandbox, backends', async () => {
    await host.telemetry.presence.beat();
    const { status, body } = await get<SystemInfo>(host, '/system');
    expect(status).toBe(200);
    expect(body.presence).toBe('ok');
    expect(body.controllers.map((h) => h.id)).toEqual([host.telemetry.system.hostId]);
    expect(body.workers.map((h) => h.id)).toEqual([host.telemetry.system.hostId]);
    expect(body.controllers[0]).toMatchObject({ role: 'all', pid: process.pid, sandbox: { name: 'process' } });
    expect(body.host).toMatchObject({ id: host.telemetry.system.hostId, role: 'all' });
    expect(body.queue.depth).toBe(0);
    expect(body.desired_workers).toBeGreaterThanOrEqual(0);
    expect(body.sandbox).toMatchObject({ name: 'process', status: 'ok' });
    expect(body.workers[0]?.sandbox).toMatchObject({ name: 'process', status: 'ok' });
    expect(body.backends.map((b) => b.role).sort()).toEqual(['queue', 'results', 'storage']);
    for (const b of body.backends) expect(b.status).not.toBe('failing');
  });
});

describe('GET /jobs/{id}: the payload a job was submitted with', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost();
    await deploy(host.app, 'pl-echo', HELLO_PY);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('is kept up to 64 KiB of JSON; a larger one is shown by its size only', async () => {
    const small = { name: 'Ada', nested: { list: [1, 'ü', null] } };
    const ran = (await (await run(host.app, { function: 'pl-echo', payload: small })).json()) as { job_id: string };
    // The /run answer does not echo it back to the caller that sent it, nor do list pages show it.
    expect(ran).not.toHaveProperty('payload');
    const page = await get<{ jobs: { job_id: string }[] }>(host, '/jobs?function=pl-echo');
    expect(page.body.jobs.map((j) => j.job_id)).toContain(ran.job_id);
    for (const j of page.body.jobs) expect(j).not.toHaveProperty('payload');
    const job = await get<{ payload?: unknown; payload_bytes?: number; result: unknown }>(host, `/jobs/${ran.job_id}`);
    expect((await get<{ payload?: unknown }>(host, `/status/${ran.job_id}`)).body.payload).toEqual(small);
    expect(job.body).toMatchObject({ payload: small, result: { message: 'Hello, Ada!' } });
    expect(job.body.payload_bytes).toBeUndefined();

    const big = { name: 'x'.repeat(70 * 1024) };
    const bigRun = (await (await run(host.app, { function: 'pl-echo', payload: big })).json()) as { job_id: string };
    const bigJob = await get<{ payload?: unknown; payload_bytes?: number }>(host, `/jobs/${bigRun.job_id}`);
    expect(bigJob.body.payload).toBeUndefined();
    expect(bigJob.body.payload_bytes).toBe(JSON.stringify(big).length);
  });
});

describe('GET /system with a sandbox whose check fails', () => {
  let host: TestHost;
  const broken: Sandbox = {
    name: 'flaky',
    isolated: true,
    run: () => Promise.reject(new NanoGridError('SANDBOX_UNAVAILABLE', 'engine gone')),
    check: () => Promise.reject(new NanoGridError('SANDBOX_UNAVAILABLE', 'the engine does not answer')),
  };
  beforeAll(async () => {
    host = await startTestHost({ sandbox: broken });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('shows the sandbox failing, with its code, in the view and in the worker entry; the API keeps serving', async () => {
    await host.telemetry.presence.beat();
    const { status, body } = await get<SystemInfo>(host, '/system');
    expect(status).toBe(200);
    expect(body.sandbox).toMatchObject({ name: 'flaky', status: 'failing', error: { code: 'SANDBOX_UNAVAILABLE' } });
    expect(body.workers[0]?.sandbox).toMatchObject({ status: 'failing', error: { code: 'SANDBOX_UNAVAILABLE' } });
    expect((await host.app.request('/health')).status).toBe(200);
  });
});

describe('a controller created without a system source (createController without `system`)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost({}, { system: undefined });
    await deploy(host.app, 'bare', HELLO_PY);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('answers the statistics and system routes with BAD_REQUEST saying what is missing, and keeps serving', async () => {
    for (const path of ['/functions/bare/stats', '/stats/functions', '/system']) {
      const { status, body } = await get<ErrorJson>(host, path);
      expect([path, status, body.error.code]).toEqual([path, 400, 'BAD_REQUEST']);
      expect(body.error.message).toMatch(/statistics|system source/);
    }
    expect((await host.app.request('/functions/bare')).status).toBe(200);
  });
});

describe('GET /system shares its health checks for healthCacheMs', () => {
  it('many requests within the window run each check once; a later request checks again', async () => {
    const host = await makeHost();
    try {
      let checks = 0;
      const storage = host.nanogrid.storage;
      const counted = { ...host.telemetry.system, healthCacheMs: 60_000 };
      counted.storage = Object.assign(Object.create(storage) as typeof storage, {
        name: storage.name,
        check: async () => {
          checks += 1;
        },
      });
      const app = createController({
        registry: host.nanogrid.registry,
        jobs: host.nanogrid.jobs,
        storage,
        logger: silentLogger,
        system: counted,
      });
      const answers = await Promise.all(Array.from({ length: 20 }, () => app.request('/system')));
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(checks).toBe(1);
      counted.healthCacheMs = 0;
      expect((await app.request('/system')).status).toBe(200);
      expect(checks).toBe(2);
    } finally {
      await host.close();
    }
  });
});
