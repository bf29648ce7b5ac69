import { describe, expect, it } from 'vitest';
import { toProxyEvent } from '../src/http/proxy-event.js';
import { fromProxyResult } from '../src/http/proxy-response.js';

const info = {
  functionRef: 'api',
  proxyPath: 'users/42',
  sourceIp: '203.0.113.9',
  accountId: '123456789012',
  requestId: 'job-1',
  now: new Date('2026-01-01T00:00:00Z'),
};

function request(init: RequestInit & { url?: string } = {}) {
  return new Request(init.url ?? 'http://h:8080/fn/api/users/42?a=1&a=2&b=x', init);
}

describe('toProxyEvent', () => {
  it('builds a REST (1.0) event with single and multi-value headers and query', () => {
    const req = request({ method: 'POST', headers: { 'content-type': 'application/json', 'x-k': 'v' } });
    const ev = toProxyEvent(req, new TextEncoder().encode('{"n":1}'), info);
    expect(ev).toMatchObject({
      httpMethod: 'POST',
      path: '/users/42',
      resource: '/{proxy+}',
      pathParameters: { proxy: 'users/42' },
      queryStringParameters: { a: '2', b: 'x' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['x'] },
      headers: { 'content-type': 'application/json', 'x-k': 'v' },
      multiValueHeaders: { 'x-k': ['v'] },
      body: '{"n":1}',
      isBase64Encoded: false,
      requestContext: { requestId: 'job-1', accountId: '123456789012', identity: { sourceIp: '203.0.113.9' } },
    });
  });

  it('sends binary bodies base64 and has null body / query when absent', () => {
    const bytes = new Uint8Array([0, 255, 1, 2]);
    const ev = toProxyEvent(request({ method: 'PUT', headers: { 'content-type': 'image/png' } }), bytes, info);
    expect(ev).toMatchObject({ body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true });
    const bare = toProxyEvent(request({ url: 'http://h/fn/api' }), new Uint8Array(), { ...info, proxyPath: '' });
    expect(bare).toMatchObject({ body: null, queryStringParameters: null, pathParameters: null, path: '/' });
    // Invalid UTF-8 under a text type still arrives intact, as base64.
    const latin = toProxyEvent(request({ method: 'POST', headers: { 'content-type': 'text/plain' } }), bytes, info);
    expect(latin.isBase64Encoded).toBe(true);
  });

  it('builds an HTTP API (2.0) event with cookies and joined values', () => {
    const req = request({ method: 'GET', headers: { cookie: 'a=1; b=2', 'x-k': 'v' } });
    const ev = toProxyEvent(req, new Uint8Array(), info, '2.0');
    expect(ev).toMatchObject({
      version: '2.0',
      rawPath: '/users/42',
      rawQueryString: 'a=1&a=2&b=x',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { a: '1,2', b: 'x' },
      requestContext: { http: { method: 'GET', path: '/users/42', sourceIp: '203.0.113.9' }, requestId: 'job-1' },
      isBase64Encoded: false,
    });
    expect((ev.headers as Record<string, string>).cookie).toBeUndefined();
  });
});

describe('fromProxyResult', () => {
  it('maps statusCode, headers, multiValueHeaders and cookies', async () => {
    const res = fromProxyResult({
      statusCode: 201,
      headers: { 'content-type': 'text/plain', 'x-one': 1 },
      multiValueHeaders: { 'x-many': ['a', 'b'] },
      cookies: ['s=1; HttpOnly', 't=2'],
      body: 'made',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-one')).toBe('1');
    expect(res.headers.get('x-many')).toBe('a, b');
    expect(res.headers.getSetCookie()).toEqual(['s=1; HttpOnly', 't=2']);
    expect(await res.text()).toBe('made');
  });

  it('decodes base64 bodies to bytes', async () => {
    const bytes = Buffer.from([137, 80, 78, 71, 0, 255]);
    const res = fromProxyResult({ statusCode: 200, body: bytes.toString('base64'), isBase64Encoded: true });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
  });

  it('reads base64 with line breaks (MIME style) and without padding', async () => {
    const bytes = Buffer.from('hello, binary world \u0000\u00ff');
    const wrapped = bytes.toString('base64').replace(/.{8}/g, '$&\r\n');
    const res = fromProxyResult({ statusCode: 200, body: wrapped, isBase64Encoded: true });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    const unpadded = fromProxyResult({ statusCode: 200, body: 'QUI', isBase64Encoded: true });
    expect(await unpadded.text()).toBe('AB');
  });

  it('sends any other value as 200 JSON', async () => {
    for (const value of [{ message: 'hi' }, 'text', 42, null, [1, 2]]) {
      const res = fromProxyResult(value);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual(value);
    }
  });

  it('drops hop-by-hop headers a function sets', () => {
    const res = fromProxyResult({
      statusCode: 200,
      headers: { 'content-length': '999', connection: 'close' },
      body: 'x',
    });
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('connection')).toBeNull();
  });

  it.each([
    [{ statusCode: 'abc' }, 'non-numeric status'],
    [{ statusCode: 99 }, 'status out of range'],
    [{ statusCode: 200, headers: { 'x-a': 'v\r\nSet-Cookie: evil=1' } }, 'CRLF injection'],
    [{ statusCode: 200, headers: { 'bad name': 'v' } }, 'bad header name'],
    [{ statusCode: 200, headers: { 'x-a': { nested: true } } }, 'object header value'],
    [{ statusCode: 200, multiValueHeaders: { 'x-a': 'not-an-array' } }, 'multi-value not an array'],
    [{ statusCode: 200, cookies: 'a=1' }, 'cookies not an array'],
    [{ statusCode: 200, body: '%%%', isBase64Encoded: true }, 'bad base64'],
    [{ statusCode: 200, body: 'QUJDR', isBase64Encoded: true }, 'base64 of an impossible length'],
    // A body of blanks made the old check backtrack for hours, freezing the host's event loop.
    [{ statusCode: 200, body: `${' '.repeat(1_000_000)}!`, isBase64Encoded: true }, 'a megabyte of blanks, then junk'],
  ] as [unknown, string][])('refuses %j (%s) with BAD_RESULT', (value) => {
    expect(() => fromProxyResult(value)).toThrow(expect.objectContaining({ code: 'BAD_RESULT' }));
  });
});
