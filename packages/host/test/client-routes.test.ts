import {
  type ErrorCode as ClientErrorCode,
  type FunctionInfo,
  NanoGridApiError,
  NanoGridClient,
} from '@nanogrid/client';
import type { ErrorCode as CoreErrorCode } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionView } from '../src/http/views.js';
import { FAIL_PY, HELLO_PY, type TestHost, makeHost } from './helpers.js';

// Compile-time drift checks between the server and @nanogrid/client (tsc -p tsconfig.test.json runs them).
type Same<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : false;
const errorCodesMatch: Same<CoreErrorCode, ClientErrorCode> = true;
const functionFieldsMatch: Same<keyof FunctionView, keyof FunctionInfo> = true;

describe('@nanogrid/client against the real controller', () => {
  let host: TestHost;
  let client: NanoGridClient;
  beforeAll(async () => {
    host = await makeHost({ apiKeys: ['secret-key'] });
    client = new NanoGridClient({
      url: 'http://ng.test',
      apiKey: 'secret-key',
      fetch: async (input, init) => host.app.request(String(input), init),
    });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('the API types and error codes of client and server are the same sets', () => {
    expect([errorCodesMatch, functionFieldsMatch]).toEqual([true, true]);
  });

  it('deploys, runs (sync and async), polls, lists, versions, aliases and deletes', async () => {
    expect(await client.health()).toEqual({ status: 'healthy' });
    const v1 = await client.deploy({ name: 'hi', runtime: 'python3.11', code: HELLO_PY, fileName: 'hello.py' });
    const v2 = await client.deploy({
      name: 'hi',
      runtime: 'python3.11',
      code: HELLO_PY.replace('Hello', 'Hi'),
      fileName: 'hello.py',
      env: { K: 'v' },
    });
    expect([v1.version, v2.version, v2.function_id]).toEqual([1, 2, v1.function_id]);
    expect(v2.env_keys).toEqual(['K']);

    expect(await client.run('hi', { name: 'Ada' })).toMatchObject({
      status: 'completed',
      result: { message: 'Hi, Ada!' },
      function_version: 2,
    });
    const submitted = await client.submit('hi:1', { name: 'Bo' });
    expect(submitted).toMatchObject({ status: 'pending', function_name: 'hi', function_version: 1 });
    expect(await client.wait(submitted.job_id, { intervalMs: 50, timeoutMs: 20_000 })).toMatchObject({
      status: 'completed',
      result: { message: 'Hello, Bo!' },
    });
    expect((await client.status(submitted.job_id)).job_id).toBe(submitted.job_id);
    const page = await client.listJobs({ function: 'hi', status: 'completed', limit: 1 });
    expect(page.jobs.map((j) => j.job_id)).toEqual([submitted.job_id]);
    expect(page.next_cursor).toBeDefined();
    const rest = await client.listJobs({ function: 'hi', cursor: page.next_cursor!, limit: 10 });
    expect(rest.jobs.map((j) => j.status)).toEqual(['completed']);
    expect(rest.next_cursor).toBeUndefined();
    const finalCancel = await client.cancel(submitted.job_id).catch((e: { code?: string }) => e);
    expect((finalCancel as { code?: string }).code).toBe('CONFLICT');

    expect((await client.listFunctions()).map((f) => f.function_name)).toContain('hi');
    expect((await client.getFunction('hi:1')).version).toBe(1);
    expect(await client.setAlias('hi', 'prod', 1)).toMatchObject({ alias: 'prod', version: 1, function_name: 'hi' });
    expect((await client.aliases('hi')).aliases).toMatchObject([{ alias: 'prod', version: 1 }]);
    expect((await client.versions('hi')).versions.map((v) => v.version)).toEqual([1, 2]);
    expect(await client.run('hi:prod', { name: 'Cy' })).toMatchObject({ result: { message: 'Hello, Cy!' } });
    expect(await client.deleteAlias('hi', 'prod')).toMatchObject({ deleted: true });
    expect(await client.deleteFunction('hi:1')).toMatchObject({ version: 1, deleted: true });
    expect(await client.deleteFunction('hi')).toMatchObject({ function_name: 'hi', deleted: true });
  });

  it('a failed job comes back as a job; request errors throw with the server code', async () => {
    await client.deploy({
      name: 'fails',
      runtime: 'python3.11',
      code: FAIL_PY,
      fileName: 'main.py',
      handler: 'main.handler',
    });
    expect(await client.run('fails')).toMatchObject({
      status: 'failed',
      error: { code: 'FUNCTION_ERROR', type: 'ValueError' },
    });
    const missing = await client.run('nobody').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NanoGridApiError);
    expect(missing).toMatchObject({ code: 'FUNCTION_NOT_FOUND', status: 404 });
    const badRuntime = await client
      .deploy({ name: 'x', runtime: 'cobol', code: 'x', fileName: 'x.py' })
      .catch((e: unknown) => e);
    expect(badRuntime).toMatchObject({ code: 'RUNTIME_NOT_FOUND', status: 400, field: 'runtime' });
    const noKey = new NanoGridClient({
      url: 'http://ng.test',
      fetch: async (input, init) => host.app.request(String(input), init),
    });
    expect(await noKey.listFunctions().catch((e: unknown) => e)).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
  });
});
