import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHost, makeHost, upload } from './helpers.js';

const ECHO_PY = `import json
def handler(event, context):
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-echo": "yes"},
        "multiValueHeaders": {"x-multi": ["a", "b"]},
        "body": json.dumps({
            "method": event.get("httpMethod") or event["requestContext"]["http"]["method"],
            "path": event.get("path") or event.get("rawPath"),
            "version": event.get("version", "1.0"),
            "query": event.get("queryStringParameters"),
            "body": event.get("body"),
            "b64": event.get("isBase64Encoded"),
            "proxy": (event.get("pathParameters") or {}).get("proxy"),
            "cookies": event.get("cookies"),
        }),
    }
`;
const PNG_JS = `exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'image/png' },
  body: Buffer.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 255]).toString('base64'),
  isBase64Encoded: true,
});
`;
const PLAIN_PY = 'def handler(event, context):\n    return {"hello": "world"}\n';
const RAISES_PY = 'def handler(event, context):\n    raise RuntimeError("boom")\n';
const INJECT_PY = `def handler(event, context):
    return {"statusCode": 200, "headers": {"x-a": "v\\r\\nset-cookie: evil=1"}, "body": "x"}
`;
// Answers by path with what a hostile or careless function might return.
const HOSTILE_JS = `exports.handler = async (event) => {
  switch (event.path) {
    case '/own-csp':
      return { statusCode: 200, headers: { 'content-type': 'text/html', 'content-security-policy': "img-src 'none'" }, body: '<b>hi</b>' };
    case '/status-999': return { statusCode: 999, body: 'x' };
    case '/status-99': return { statusCode: 99, body: 'x' };
    case '/blank-base64': return { statusCode: 200, isBase64Encoded: true, body: ' '.repeat(2000000) + '!' };
    case '/cookie-crlf': return { statusCode: 200, cookies: ['a=1\\r\\nx-evil: 1'], body: 'x' };
    case '/many-headers': {
      const headers = {};
      for (let i = 0; i < 500; i++) headers['x-h' + i] = 'v'.repeat(20);
      return { statusCode: 200, headers, body: 'ok' };
    }
    default: return { statusCode: 404, body: 'no' };
  }
};
`;

const KEY = 'endpoint-test-key';
const auth = { authorization: `Bearer ${KEY}` };
let host: TestHost;

async function deploy(name: string, file: string, content: string, extra: Record<string, string> = {}) {
  const runtime = file.endsWith('.js') ? 'nodejs18.x' : 'python3.11';
  const res = await upload(
    host.app,
    { file: { name: file, content }, function_name: name, runtime, handler: `${file.split('.')[0]}.handler`, ...extra },
    auth,
  );
  expect(res.status).toBe(201);
}

beforeAll(async () => {
  host = await makeHost({ apiKeys: [KEY], rateLimit: false }, {}, { maxPayloadBytes: 64 * 1024 });
  await deploy('echo', 'echo.py', ECHO_PY);
  await deploy('echo2', 'echo.py', ECHO_PY, { http_event: '2.0' });
  await deploy('png', 'png.js', PNG_JS, { public: 'true' });
  await deploy('plain', 'plain.py', PLAIN_PY, { public: 'true' });
  await deploy('raises', 'raises.py', RAISES_PY, { public: 'true' });
  await deploy('inject', 'inject.py', INJECT_PY, { public: 'true' });
  await deploy('hostile', 'hostile.js', HOSTILE_JS, { public: 'true' });
}, 60_000);
afterAll(() => host?.close());

describe('HTTP endpoints /fn/{function}/{path…}', () => {
  it('passes a REST proxy event and maps status, headers and body back', async () => {
    const res = await host.app.request('/fn/echo/users/42?a=1&a=2', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(res.headers.get('x-multi')).toBe('a, b');
    expect(res.headers.get('x-nanogrid-job-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({
      method: 'POST',
      path: '/users/42',
      version: '1.0',
      query: { a: '2' },
      body: 'hello',
      b64: false,
      proxy: 'users/42',
      cookies: null,
    });
  });

  it('passes an HTTP API (2.0) event to a function deployed with http_event=2.0, cookies included', async () => {
    const res = await host.app.request('/fn/echo2/x', { headers: { ...auth, cookie: 'a=1; b=2' } });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ method: 'GET', path: '/x', version: '2.0', cookies: ['a=1', 'b=2'] });
  });

  it('sends binary bodies as bytes and any other return value as 200 JSON', async () => {
    const png = await host.app.request('/fn/png');
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await png.arrayBuffer())]).toEqual([137, 80, 78, 71, 13, 10, 26, 10, 0, 255]);
    const plain = await host.app.request('/fn/plain/anything', { method: 'DELETE' });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({ hello: 'world' });
  });

  it('answers a failed run with 502 and a JSON error, a malformed response too', async () => {
    const failed = await host.app.request('/fn/raises');
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({
      error: { code: 'FUNCTION_ERROR', message: expect.stringContaining('boom') },
    });
    const injected = await host.app.request('/fn/inject');
    expect(injected.status).toBe(502);
    expect(injected.headers.get('set-cookie')).toBeNull();
    expect(await injected.json()).toMatchObject({ error: { code: 'BAD_RESULT' } });
  });

  it('serves every answer sandboxed (an opaque origin), keeping a policy of the function’s own', async () => {
    for (const path of ['/fn/plain', '/fn/png', '/fn/hostile/own-csp']) {
      const res = await host.app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy'), path).toContain('sandbox allow-scripts');
      expect(res.headers.get('content-security-policy'), path).not.toContain('allow-same-origin');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const own = await host.app.request('/fn/hostile/own-csp');
    expect(own.headers.get('content-security-policy')).toContain("img-src 'none'");
    expect(await own.text()).toBe('<b>hi</b>');
  });

  it('answers hostile responses with 502 BAD_RESULT and keeps serving', async () => {
    for (const path of ['/status-999', '/status-99', '/blank-base64', '/cookie-crlf']) {
      const res = await host.app.request(`/fn/hostile${path}`);
      expect(res.status, path).toBe(502);
      expect(res.headers.get('x-evil'), path).toBeNull();
      expect(await res.json(), path).toMatchObject({ error: { code: 'BAD_RESULT' } });
    }
    const many = await host.app.request('/fn/hostile/many-headers');
    expect(many.status).toBe(200);
    expect(many.headers.get('x-h499')).toBe('v'.repeat(20));
  }, 30_000);

  it('answers a function name that is not valid percent-encoding with 400, key or not', async () => {
    for (const headers of [{}, auth]) {
      for (const path of ['/fn/%E0%A4%A/x', '/fn/%/x', '/fn/a%zz']) {
        const res = await host.app.request(path, { headers });
        expect(res.status, path).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
      }
    }
    expect((await host.app.request('/fn/plain')).status).toBe(200);
  });

  it('needs a key unless the function is public, and does not tell which names exist', async () => {
    expect((await host.app.request('/fn/echo/x')).status).toBe(401);
    expect((await host.app.request('/fn/echo/x', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await host.app.request('/fn/no-such-fn/x')).status).toBe(401);
    expect((await host.app.request('/fn/no-such-fn/x', { headers: auth })).status).toBe(404);
    expect((await host.app.request('/fn/plain')).status).toBe(200);
  });

  it('addresses versions and aliases, and refuses bodies over the limit', async () => {
    await deploy('plain', 'plain.py', 'def handler(event, context):\n    return {"hello": "v2"}\n', { public: 'true' });
    expect(await (await host.app.request('/fn/plain:1')).json()).toEqual({ hello: 'world' });
    expect(await (await host.app.request('/fn/plain')).json()).toEqual({ hello: 'v2' });
    const alias = await host.app.request('/functions/plain/aliases/stable', {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1 }),
    });
    expect(alias.status).toBe(200);
    expect(await (await host.app.request('/fn/plain:stable/x')).json()).toEqual({ hello: 'world' });
    const big = await host.app.request('/fn/plain', { method: 'POST', body: 'x'.repeat(200 * 1024) });
    expect(big.status).toBe(413);
    expect((await host.app.request('/fn/plain')).status).toBe(200);
  });

  it('refuses bad deploy fields for endpoints', async () => {
    const res = await upload(
      host.app,
      {
        file: { name: 'p.py', content: PLAIN_PY },
        function_name: 'bad',
        runtime: 'python3.11',
        handler: 'p.handler',
        http_event: '3.0',
      },
      auth,
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'http_event' } });
    const pub = await upload(
      host.app,
      {
        file: { name: 'p.py', content: PLAIN_PY },
        function_name: 'bad',
        runtime: 'python3.11',
        public: 'yes',
      } as never,
      auth,
    );
    expect(await pub.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'public' } });
  });
});
