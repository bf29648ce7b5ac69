import { NanoGridError } from '@nanogrid/core';

/** Headers a function may not set: the host frames the response itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'trailer',
  'te',
]);

function bad(message: string): NanoGridError {
  return new NanoGridError('BAD_RESULT', `the function's HTTP response is malformed: ${message}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function scalar(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw bad(`${where} must be a string, number or boolean`);
}

function appendHeader(headers: Headers, name: string, value: string): void {
  if (HOP_BY_HOP.has(name.toLowerCase())) return;
  try {
    headers.append(name, value); // refuses bad names and CR/LF in values (header injection)
  } catch {
    throw bad(`header ${JSON.stringify(name.slice(0, 100))} has an invalid name or value`);
  }
}

/**
 * Turns a function's return value into the HTTP response, as API Gateway does
 * with a proxy integration: `{statusCode, headers, multiValueHeaders, cookies,
 * body, isBase64Encoded}`. Any other value (no numeric `statusCode`) is sent as
 * 200 JSON. A malformed proxy object is BAD_RESULT, which the route answers 502.
 */
export function fromProxyResult(result: unknown): Response {
  if (!isRecord(result) || !('statusCode' in result)) {
    return new Response(JSON.stringify(result ?? null), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }
  const status = Number(result.statusCode);
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw bad(`statusCode must be an integer from 200 to 599, got ${JSON.stringify(result.statusCode)}`);
  }
  const headers = new Headers();
  if (result.headers !== undefined && result.headers !== null) {
    if (!isRecord(result.headers)) throw bad('headers must be an object');
    for (const [k, v] of Object.entries(result.headers)) appendHeader(headers, k, scalar(v, `headers.${k}`));
  }
  if (result.multiValueHeaders !== undefined && result.multiValueHeaders !== null) {
    if (!isRecord(result.multiValueHeaders)) throw bad('multiValueHeaders must be an object');
    for (const [k, values] of Object.entries(result.multiValueHeaders)) {
      if (!Array.isArray(values)) throw bad(`multiValueHeaders.${k} must be an array`);
      if (headers.has(k)) headers.delete(k); // the multi-value list wins, as in API Gateway
      for (const v of values) appendHeader(headers, k, scalar(v, `multiValueHeaders.${k}`));
    }
  }
  if (result.cookies !== undefined) {
    if (!Array.isArray(result.cookies)) throw bad('cookies must be an array of strings');
    for (const c of result.cookies) appendHeader(headers, 'set-cookie', scalar(c, 'cookies[]'));
  }

  let body: Uint8Array | string | null = null;
  if (result.body !== undefined && result.body !== null) {
    const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
    if (result.isBase64Encoded === true) {
      // Whitespace out first: one pattern with \s on both sides of `=` backtracks in O(n²) on a body of blanks.
      const compact = text.replace(/\s+/g, '');
      if (compact.length % 4 === 1 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
        throw bad('body is marked isBase64Encoded but is not base64');
      }
      body = new Uint8Array(Buffer.from(compact, 'base64'));
    } else {
      body = text;
    }
  }
  // 204 and 304 carry no body by definition.
  if (status === 204 || status === 304) body = null;
  return new Response(body, { status, headers });
}
