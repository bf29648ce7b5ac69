import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController } from '../src/index.js';
import { type ErrorJson, HELLO_PY, type TestHost, deploy, makeHost, run, upload } from './helpers.js';

async function expectError(
  res: Response | Promise<Response>,
  status: number,
  code: string,
  field?: string,
): Promise<ErrorJson> {
  const r = await res;
  const body = (await r.json()) as ErrorJson;
  expect({ status: r.status, code: body.error?.code }).toEqual({ status, code });
  expect(body.error.message).toEqual(expect.any(String));
  if (field) expect(body.error.field).toBe(field);
  return body;
}

describe('controller bad input', () => {
  let host: TestHost;
  let helloId: string;
  beforeAll(async () => {
    host = await makeHost({ bodyLimitBytes: 64 * 1024 }, {}, { maxPayloadBytes: 4096 });
    helloId = await deploy(host.app, 'hello', HELLO_PY);
  });
  afterAll(async () => {
    await host?.close();
  });

  const hello = { name: 'hello.py', content: HELLO_PY };

  it('unknown function → 404 FUNCTION_NOT_FOUND (run, status of a job, get)', async () => {
    await expectError(run(host.app, { function_id: 'no-such-function', payload: {} }), 404, 'FUNCTION_NOT_FOUND');
    await expectError(host.app.request('/functions/no-such-function'), 404, 'FUNCTION_NOT_FOUND');
    await expectError(host.app.request('/status/no-such-job'), 404, 'JOB_NOT_FOUND');
  });

  it('unknown runtime → 400 RUNTIME_NOT_FOUND', async () => {
    await expectError(
      upload(host.app, { file: hello, function_name: 'x', runtime: 'cobol85' }),
      400,
      'RUNTIME_NOT_FOUND',
    );
  });

  it('missing upload fields → 400 VALIDATION_FAILED naming the field', async () => {
    await expectError(upload(host.app, { function_name: 'x', runtime: 'python3.9' }), 400, 'VALIDATION_FAILED', 'file');
    await expectError(
      upload(host.app, { file: hello, runtime: 'python3.9' }),
      400,
      'VALIDATION_FAILED',
      'function_name',
    );
    await expectError(upload(host.app, { file: hello, function_name: 'x' }), 400, 'VALIDATION_FAILED', 'runtime');
    await expectError(
      upload(host.app, { file: hello, function_name: 'x', runtime: 'python3.9', timeout: 'soon' }),
      400,
      'VALIDATION_FAILED',
      'timeout',
    );
    await expectError(
      upload(host.app, { file: hello, function_name: 'x', runtime: 'python3.9', timeout: '999999' }),
      400,
      'VALIDATION_FAILED',
      'timeout',
    );
    await expectError(
      upload(host.app, { file: hello, function_name: 'x', runtime: 'python3.9', memory_mb: '1.5' }),
      400,
      'VALIDATION_FAILED',
      'memory_mb',
    );
    await expectError(
      upload(host.app, { file: hello, function_name: 'x', runtime: 'python3.9', env: '{not json' }),
      400,
      'VALIDATION_FAILED',
      'env',
    );
    await expectError(
      upload(host.app, { file: hello, function_name: 'x', runtime: 'python3.9', env: '{"A":1}' }),
      400,
      'VALIDATION_FAILED',
      'env',
    );
    await expectError(
      upload(host.app, { file: hello, function_name: 'x', runtime: 'python3.9', network: 'everywhere' }),
      400,
      'VALIDATION_FAILED',
      'network',
    );
    await expectError(
      upload(host.app, { file: hello, function_name: '../etc', runtime: 'python3.9' }),
      400,
      'VALIDATION_FAILED',
      'function_name',
    );
  });

  it('an upload that is not multipart, or of the wrong file type, is refused', async () => {
    await expectError(
      host.app.request('/upload', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }),
      400,
      'BAD_REQUEST',
    );
    await expectError(
      upload(host.app, { file: { name: 'notes.txt', content: 'hi' }, function_name: 'x', runtime: 'python3.9' }),
      400,
      'UNSUPPORTED_FILE_TYPE',
    );
    await expectError(
      upload(host.app, { file: { name: 'bad.zip', content: 'not a zip' }, function_name: 'x', runtime: 'python3.9' }),
      400,
      'BAD_ARCHIVE',
    );
  });

  it('malformed or incomplete JSON on /run → BAD_JSON / VALIDATION_FAILED', async () => {
    await expectError(run(host.app, '{"function_id": '), 400, 'BAD_JSON');
    await expectError(run(host.app, ''), 400, 'BAD_JSON');
    await expectError(run(host.app, '[1,2]'), 400, 'BAD_JSON');
    await expectError(run(host.app, { payload: {} }), 400, 'VALIDATION_FAILED', 'function');
    await expectError(run(host.app, { function_id: 42 }), 400, 'VALIDATION_FAILED', 'function_id');
  });

  it('a body over the limit → 413 PAYLOAD_TOO_LARGE, and the next request is served', async () => {
    const big = Buffer.alloc(100 * 1024, 'a');
    await expectError(
      upload(host.app, { file: { name: 'big.py', content: big }, function_name: 'big', runtime: 'python3.9' }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    // Under the body cap but over maxPayloadBytes (4 KiB): refused by the job service.
    const payload = { text: 'x'.repeat(8 * 1024) };
    await expectError(run(host.app, { function_id: helloId, payload }), 413, 'PAYLOAD_TOO_LARGE');
    // Over the body cap, announced by Content-Length: refused before reading.
    const huge = JSON.stringify({ function_id: helloId, payload: { text: 'x'.repeat(80 * 1024) } });
    await expectError(
      run(host.app, huge, { 'content-length': String(Buffer.byteLength(huge)) }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect((await run(host.app, { function_id: helloId, payload: { name: 'after' } })).status).toBe(200);
  });

  it('unknown routes and methods → 404 NOT_FOUND as JSON', async () => {
    await expectError(host.app.request('/nope'), 404, 'NOT_FOUND');
    await expectError(host.app.request('/upload'), 404, 'NOT_FOUND');
    await expectError(host.app.request('/health', { method: 'DELETE' }), 404, 'NOT_FOUND');
  });
});

describe('unexpected exceptions', () => {
  it('answer 500 INTERNAL without internals and are logged with their stack', async () => {
    const host = await makeHost();
    try {
      const logged: { msg: string; fields?: Record<string, unknown> }[] = [];
      const logger = {
        info() {},
        warn() {},
        error: (msg: string, fields?: Record<string, unknown>) => logged.push({ msg, fields }),
      };
      const real = host.nanogrid.registry;
      const registry = {
        deploy: real.deploy.bind(real),
        get: real.get.bind(real),
        delete: real.delete.bind(real),
        list: () => Promise.reject(new Error('disk on fire at /secret/path')),
        versions: real.versions.bind(real),
        setAlias: real.setAlias.bind(real),
        deleteAlias: real.deleteAlias.bind(real),
      };
      const app = createController({ registry, jobs: host.nanogrid.jobs, storage: host.nanogrid.storage, logger });
      const body = await expectError(app.request('/functions'), 500, 'INTERNAL');
      expect(body.error.message).not.toContain('/secret/path');
      expect(logged).toHaveLength(1);
      expect(logged[0]?.fields?.['error']).toBe('disk on fire at /secret/path');
      expect(logged[0]?.fields?.['stack']).toEqual(expect.stringContaining('Error'));
    } finally {
      await host.close();
    }
  });
});

describe('API keys', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost({ apiKeys: ['k-one', 'k-two'] });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('a missing or wrong key → 401 UNAUTHORIZED; /health stays open; a right key passes', async () => {
    expect((await host.app.request('/health')).status).toBe(200);
    const missing = await host.app.request('/functions');
    await expectError(missing, 401, 'UNAUTHORIZED');
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    await expectError(
      host.app.request('/functions', { headers: { authorization: 'Bearer nope' } }),
      401,
      'UNAUTHORIZED',
    );
    await expectError(
      host.app.request('/functions', { headers: { authorization: 'Basic k-one' } }),
      401,
      'UNAUTHORIZED',
    );
    await expectError(run(host.app, { function_id: 'x' }), 401, 'UNAUTHORIZED');
    expect((await host.app.request('/functions', { headers: { authorization: 'Bearer k-two' } })).status).toBe(200);
  });
});

describe('rate limit', () => {
  let host: TestHost;
  let now = 1_000_000;
  beforeAll(async () => {
    host = await makeHost({ rateLimit: { max: 3, windowMs: 60_000 } }, { now: () => now, trustProxy: true });
  });
  afterAll(async () => {
    await host?.close();
  });

  const from = (ip: string) => ({ headers: { 'x-forwarded-for': `203.0.113.9, ${ip}` } });

  it('over the limit → 429 RATE_LIMITED with Retry-After; per IP; resets with the window; /health exempt', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await host.app.request('/functions', from('10.0.0.1'));
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ratelimit-remaining')).toBe(String(2 - i));
      expect(ok.headers.get('ratelimit-limit')).toBe('3');
    }
    const limited = await host.app.request('/functions', from('10.0.0.1'));
    await expectError(limited, 429, 'RATE_LIMITED');
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');

    expect((await host.app.request('/functions', from('10.0.0.2'))).status).toBe(200); // another client
    expect((await host.app.request('/health', from('10.0.0.1'))).status).toBe(200);

    now += 60_000;
    expect((await host.app.request('/functions', from('10.0.0.1'))).status).toBe(200);
  });

  it('takes the client from the socket when no proxy is trusted', async () => {
    const direct = await makeHost({ rateLimit: { max: 1, windowMs: 60_000 } });
    try {
      const socket = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });
      expect((await direct.app.request('/functions', from('1.1.1.1'), socket('192.0.2.1'))).status).toBe(200);
      // A forged X-Forwarded-For does not buy a fresh bucket.
      await expectError(direct.app.request('/functions', from('2.2.2.2'), socket('192.0.2.1')), 429, 'RATE_LIMITED');
      expect((await direct.app.request('/functions', {}, socket('192.0.2.2'))).status).toBe(200);
    } finally {
      await direct.close();
    }
  });
});
