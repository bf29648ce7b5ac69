import { silentLogger } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController } from '../src/index.js';
import {
  FAIL_PY,
  HELLO_PY,
  LOOP_PY,
  REPORT_PY,
  type ErrorJson,
  type TestHost,
  deploy,
  makeHost,
  run,
  upload,
} from './helpers.js';

type Json = Record<string, unknown>;

describe('controller routes', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  it('GET /health answers healthy', async () => {
    const res = await host.app.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'healthy' });
  });

  it('POST /upload deploys the original hello.py and answers 201 with the original fields', async () => {
    const res = await upload(host.app, {
      file: { name: 'hello.py', content: HELLO_PY },
      function_name: 'hello',
      runtime: 'python3.9',
      handler: 'main.handler',
      timeout: '30',
      env: '{"GREETING":"hi"}',
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      function_name: 'hello',
      runtime: 'python3.9',
      handler: 'main.handler',
      timeout: 30,
      env_keys: ['GREETING'],
    });
    expect(body['function_id']).toEqual(expect.any(String));
    expect(body['s3_key']).toBe(`functions/${String(body['function_id'])}/versions/1/code.zip`);
    expect(body['version']).toBe(1);
    expect(Date.parse(String(body['created_at']))).not.toBeNaN();
    expect(body).not.toHaveProperty('env'); // values may be secrets
  });

  it('POST /run runs synchronously and returns the result', async () => {
    const id = await deploy(host.app, 'hello-sync', HELLO_PY);
    const res = await run(host.app, { function_id: id, payload: { name: 'Ada' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ status: 'completed', result: { message: 'Hello, Ada!' }, output_files: [] });
    expect(body['job_id']).toEqual(expect.any(String));
    expect(body['execution_time_ms']).toEqual(expect.any(Number));
  });

  it('POST /run with X-Async answers 202 and GET /status shows the final state', async () => {
    const id = await deploy(host.app, 'hello-async', HELLO_PY);
    const res = await run(host.app, { function_id: id, payload: { name: 'Alan' } }, { 'X-Async': 'true' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Json;
    const jobId = String(body['job_id']);
    expect(body).toMatchObject({ status: 'pending' });
    expect(String(body['message'])).toContain(`/status/${jobId}`);

    await host.nanogrid.jobs.wait(jobId, { timeoutMs: 20_000 }); // an event, not a sleep
    const status = await host.app.request(`/status/${jobId}`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({
      job_id: jobId,
      function_id: id,
      status: 'completed',
      result: { message: 'Hello, Alan!' },
      output_files: [],
    });
  });

  it('a client that goes away stops the wait, not the job', async () => {
    const id = await deploy(host.app, 'hello-abort', HELLO_PY);
    const abort = new AbortController();
    // The request is aborted right after its job is queued: the wait ends, the job runs on.
    const jobs = {
      ...host.nanogrid.jobs,
      status: host.nanogrid.jobs.status.bind(host.nanogrid.jobs),
      wait: host.nanogrid.jobs.wait.bind(host.nanogrid.jobs),
      submitOnce: host.nanogrid.jobs.submitOnce.bind(host.nanogrid.jobs),
      cancel: host.nanogrid.jobs.cancel.bind(host.nanogrid.jobs),
      list: host.nanogrid.jobs.list.bind(host.nanogrid.jobs),
      followLogs: host.nanogrid.jobs.followLogs.bind(host.nanogrid.jobs),
      watch: host.nanogrid.jobs.watch.bind(host.nanogrid.jobs),
      logs: host.nanogrid.jobs.logs.bind(host.nanogrid.jobs),
    };
    const submit = async (fid: string, payload: unknown) => {
      const submitted = await host.nanogrid.jobs.submit(fid, payload);
      abort.abort();
      return submitted;
    };
    const app = createController({
      registry: host.nanogrid.registry,
      jobs: { ...jobs, submit },
      storage: host.nanogrid.storage,
      logger: silentLogger,
    });
    const res = await app.request('/run', {
      method: 'POST',
      body: JSON.stringify({ function_id: id, payload: { name: 'gone' } }),
      signal: abort.signal,
    });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    expect(await host.nanogrid.jobs.wait(job_id, { timeoutMs: 20_000 })).toMatchObject({
      status: 'completed',
      result: { message: 'Hello, gone!' },
    });
  });

  it('a failing function answers with its error code, type and trace', async () => {
    const id = await deploy(host.app, 'fails', FAIL_PY);
    const res = await run(host.app, { function_id: id, payload: {} });
    expect(res.status).toBe(500);
    const body = (await res.json()) as Json & { error: Json };
    expect(body).toMatchObject({ status: 'failed', error: { code: 'FUNCTION_ERROR', type: 'ValueError' } });
    expect(body.error['message']).toContain('divisor must not be zero');
    expect(body.error['trace']).toEqual(expect.stringContaining('ValueError'));
    expect(body['job_id']).toEqual(expect.any(String));
  });

  it('a function that outlives its timeout answers 504 TIMEOUT and the host keeps serving', async () => {
    const id = await deploy(host.app, 'loops', LOOP_PY, { timeout: '1' });
    const res = await run(host.app, { function_id: id });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect((await host.app.request('/health')).status).toBe(200);
  });

  it('output files come back as signed links that GET /files serves, and a tampered link is refused', async () => {
    const id = await deploy(host.app, 'report', REPORT_PY);
    const res = await run(host.app, { function_id: id });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { output_files: string[] };
    expect(body.output_files).toHaveLength(1);
    const link = new URL(body.output_files[0] ?? '');
    expect(link.pathname).toMatch(/^\/files\/outputs\/.+\/report\.txt$/);

    const file = await host.app.request(link.pathname + link.search);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe('rows=2\n');

    const tampered = await host.app.request(
      link.pathname + link.search.replace(/sig=[0-9a-f]/, (m) => (m.endsWith('0') ? 'sig=1' : 'sig=0')),
    );
    expect(tampered.status).toBe(403);
    expect(((await tampered.json()) as ErrorJson).error.code).toBe('LINK_INVALID');
    const unsigned = await host.app.request(link.pathname);
    expect(unsigned.status).toBe(403);
  });

  it('GET /functions, GET /functions/:id and DELETE /functions/:id manage functions', async () => {
    const id = await deploy(host.app, 'to-delete', HELLO_PY);
    const list = (await (await host.app.request('/functions')).json()) as { functions: Json[] };
    expect(list.functions.map((f) => f['function_id'])).toContain(id);

    const one = await host.app.request(`/functions/${id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ function_id: id, function_name: 'to-delete', runtime: 'python3.9' });

    const del = await host.app.request(`/functions/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ function_id: id, deleted: true });

    const gone = await host.app.request(`/functions/${id}`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as ErrorJson).error.code).toBe('FUNCTION_NOT_FOUND');
    const again = await host.app.request(`/functions/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
  });

  it('deploys and runs a Node function', async () => {
    const src = 'export async function handler(event) { return { sum: event.a + event.b }; }\n';
    const res = await upload(host.app, {
      file: { name: 'main.mjs', content: src },
      function_name: 'adder',
      runtime: 'nodejs18.x',
      handler: 'main.handler',
    });
    expect(res.status).toBe(201);
    const { function_id } = (await res.json()) as { function_id: string };
    const ran = await run(host.app, { function_id, payload: { a: 2, b: 3 } });
    expect(ran.status).toBe(200);
    expect(await ran.json()).toMatchObject({ status: 'completed', result: { sum: 5 } });
  });
});
