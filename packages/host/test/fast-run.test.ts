import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { silentLogger } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ControllerDeps, createControllerHttp } from '../src/create-controller.js';
import { type TestHost, makeHost, upload } from './helpers.js';

/**
 * `POST /run` answered before Hono (http/fast-run.ts) must answer exactly as
 * Hono's route does. Each case goes to two servers of one controller: one
 * with the fast route in front (as `nanogrid start` serves), one with Hono's
 * listener alone; status, headers and body must match (job ids and times aside).
 */

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const VOLATILE_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** One request over a fresh connection; the body is sent as given (or not at all). */
function send(
  port: number,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string | Buffer,
  method = 'POST',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (!VOLATILE_HEADERS.has(k) && v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Ids, times and durations differ between two runs of one request: blanked before comparing. */
function normalized(a: Answer): Answer {
  const body = a.body
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/g, '<time>')
    .replace(/"(execution_time_ms|peak_memory_bytes)":\d+/g, '"$1":0')
    .replace(/"start":"(cold|warm|prewarmed)"/g, '"start":"<start>"')
    .replace(/"worker":"[^"]*"/g, '"worker":"<worker>"');
  const headers = { ...a.headers, 'content-length': '<n>' };
  return { status: a.status, headers, body };
}

interface Pair {
  fast: number;
  hono: number;
  /** Requests the fast route took. */
  taken: () => number;
  close(): Promise<void>;
}

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

/** The two servers of one controller built from `host`'s engine with `extra` options. */
async function pair(host: TestHost, extra: Partial<ControllerDeps> = {}): Promise<Pair> {
  const { app, fastRoute } = createControllerHttp({
    registry: host.nanogrid.registry,
    jobs: host.nanogrid.jobs,
    storage: host.nanogrid.storage,
    logger: silentLogger,
    http: { rateLimit: false }, // one limiter would count both servers' requests: the rate-limit case has its own
    ...extra,
  });
  const hono = getRequestListener(app.fetch);
  let taken = 0;
  const fastServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (fastRoute(req, res)) taken++;
    else hono(req, res);
  });
  const honoServer = createServer(hono);
  const [fast, honoPort] = await Promise.all([listen(fastServer), listen(honoServer)]);
  return {
    fast,
    hono: honoPort,
    taken: () => taken,
    close: async () => {
      fastServer.closeAllConnections();
      honoServer.closeAllConnections();
      await Promise.all([new Promise((r) => fastServer.close(r)), new Promise((r) => honoServer.close(r))]);
    },
  };
}

const ECHO_PY = 'def handler(event, context):\n    return {"echo": event}\n';
const NAP_PY = 'import time\ndef handler(event, context):\n    time.sleep(event.get("s", 1))\n    return {}\n';
const FAIL_PY = 'def handler(event, context):\n    raise ValueError("no " + str(event.get("n")))\n';
const json = { 'content-type': 'application/json' };

let host: TestHost;
beforeAll(async () => {
  host = await makeHost({ rateLimit: false });
  for (const [name, code] of [
    ['echo', ECHO_PY],
    ['fails', FAIL_PY],
    ['nap', NAP_PY],
  ] as const) {
    const res = await upload(host.app, {
      file: { name: `${name}.py`, content: code },
      function_name: name,
      runtime: 'python3.11',
      handler: `${name}.handler`,
    });
    expect(res.status).toBe(201);
  }
}, 60_000);
afterAll(() => host?.close());

/** Sends one case to both servers (the fast one first) and expects the same answer. */
async function same(
  p: Pair,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string | Buffer,
): Promise<Answer> {
  const fast = await send(p.fast, path, headers, body);
  const hono = await send(p.hono, path, headers, body);
  expect(normalized(fast)).toEqual(normalized(hono));
  return fast;
}

describe('POST /run before Hono answers as Hono does', () => {
  it('runs, async runs, failures and every refusal of the body and headers', async () => {
    const p = await pair(host, { limits: { maxPayloadBytes: 1024 } });
    try {
      const cases: [string, Record<string, string | string[]>, string | Buffer | undefined, number][] = [
        ['/run', json, JSON.stringify({ function: 'echo', payload: { a: [1, 'x'] } }), 200],
        ['/run?wait=1', json, JSON.stringify({ function_id: 'echo', payload: { b: 2 } }), 200],
        ['/run', json, JSON.stringify({ function: 'fails', payload: { n: 3 } }), 500],
        ['/run', json, '', 400],
        ['/run', json, '{"function": "echo",', 400],
        ['/run', json, '[1, 2]', 400],
        ['/run', json, 'null', 400],
        ['/run', json, JSON.stringify({ payload: {} }), 400],
        ['/run', json, JSON.stringify({ function: 'echo', function_id: 'echo' }), 400],
        ['/run', json, JSON.stringify({ function: 42 }), 400],
        ['/run', json, JSON.stringify({ function: 'nope' }), 404],
        ['/run', json, JSON.stringify({ function: 'echo:99' }), 404],
        ['/run', json, JSON.stringify({ function: 'echo', callback_format: 'xml' }), 400],
        ['/run', json, JSON.stringify({ function: 'echo', callback_url: 5 }), 400],
        ['/run', json, JSON.stringify({ function: 'echo', callback_url: 'file:///etc/passwd' }), 400],
        ['/run', json, JSON.stringify({ function: 'echo', payload: 'x'.repeat(2000) }), 200],
        ['/run', json, JSON.stringify({ function: 'echo', payload: 'x'.repeat(70 * 1024) }), 413],
        ['/run', { ...json, 'idempotency-key': 'has space' }, JSON.stringify({ function: 'echo' }), 400],
        ['/run', { ...json, 'idempotency-key': 'k'.repeat(256) }, JSON.stringify({ function: 'echo' }), 400],
        ['/run', { ...json, 'x-async': 'TRUE ' }, JSON.stringify({ function: 'nope' }), 404],
        ['/run', json, Buffer.from([0xff, 0xfe, 0x7b]), 400],
        // Hostile bodies and headers: nesting deep enough to overflow a recursive parser, a payload that names
        // __proto__, a repeated X-Async (Node joins it: not a yes), a body whose declared length is over the limit.
        ['/run', json, `{"function": "echo", "payload": ${'['.repeat(30_000)}${']'.repeat(30_000)}}`, 500], // taken; the function fails on it
        ['/run', json, '{"function": "echo", "payload": {"__proto__": {"polluted": 1}}, "__proto__": {"x": 1}}', 200],
        ['/run', { ...json, 'x-async': ['true', 'true'] }, JSON.stringify({ function: 'nope' }), 404],
        ['/run', { ...json, 'content-length': String(80 * 1024) }, 'x'.repeat(80 * 1024), 413],
      ];
      for (const [path, headers, body, status] of cases) {
        const a = await same(p, path, headers, body);
        expect(a.status, `${path} ${String(body).slice(0, 60)}`).toBe(status);
        expect(a.headers['content-type']).toMatch(/^application\/json/);
        if (status >= 400) expect(JSON.parse(a.body)).toMatchObject({ error: { code: expect.any(String) } });
      }
      // Async: 202 and a job id, the job then completes.
      const queued = await send(p.fast, '/run', { ...json, 'x-async': 'yes' }, JSON.stringify({ function: 'echo' }));
      const hono = await send(p.hono, '/run', { ...json, 'x-async': 'yes' }, JSON.stringify({ function: 'echo' }));
      expect(normalized(queued)).toEqual(normalized(hono));
      expect(queued.status).toBe(202);
      const { job_id } = JSON.parse(queued.body) as { job_id: string };
      expect((await host.nanogrid.jobs.wait(job_id, { timeoutMs: 20_000 })).status).toBe('completed');
      // A body sent in chunks past the limit, with no length announced: 413, and the connection stays usable.
      const chunked = await send(
        p.fast,
        '/run',
        { ...json, 'transfer-encoding': 'chunked' },
        'x'.repeat(2 * 1024 * 1024),
      );
      expect(chunked.status).toBe(413);
      expect(p.taken()).toBe(cases.length + 2);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      await p.close();
    }
  }, 120_000);

  it('Idempotency-Key: a replay carries Idempotent-Replayed, another body is a conflict, on both ways in', async () => {
    const p = await pair(host);
    try {
      const body = JSON.stringify({ function: 'echo', payload: { k: 1 } });
      const first = await send(p.fast, '/run', { ...json, 'idempotency-key': 'fast-k' }, body);
      expect(first.status).toBe(200);
      // The key is scoped to the caller, not the server: Hono's route replays the job the fast route ran.
      const again = await same(p, '/run', { ...json, 'idempotency-key': 'fast-k' }, body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(JSON.parse(again.body).job_id).toBe(JSON.parse(first.body).job_id);
      const other = await same(
        p,
        '/run',
        { ...json, 'idempotency-key': 'fast-k' },
        JSON.stringify({ function: 'echo' }),
      );
      expect(other.status).toBe(409);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('the API key: missing, malformed, wrong and right, with the same WWW-Authenticate', async () => {
    const p = await pair(host, { http: { rateLimit: false, apiKeys: ['k-one', 'k-two'] } });
    try {
      const body = JSON.stringify({ function: 'echo' });
      for (const [authorization, status] of [
        [undefined, 401],
        ['Basic azp2', 401],
        ['Bearer', 401],
        ['Bearer k-three', 401],
        ['Bearer k-one x', 401],
        ['bearer   k-two ', 200],
        ['Bearer k-one', 200],
        // Sent twice: Node keeps only the first Authorization, a web Request joins both; one answer either way.
        [['Bearer k-one', 'Bearer k-three'], 401],
        [['Bearer k-three', 'Bearer k-one'], 401],
        [['Bearer k-one', 'Bearer k-one'], 401],
      ] as const) {
        const a = await same(
          p,
          '/run',
          authorization ? { ...json, authorization: [...[authorization].flat()] } : json,
          body,
        );
        expect(a.status, String(authorization)).toBe(status);
        if (status === 401) expect(a.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    } finally {
      await p.close();
    }
  }, 60_000);

  it('the rate limit: the same RateLimit-* headers, then 429 RATE_LIMITED with Retry-After', async () => {
    let now = 1_000_000;
    const limited = { http: { rateLimit: { max: 2, windowMs: 60_000 } }, now: () => now };
    // Each server counts apart here (two controllers), so both see the same sequence.
    const a = await pair(host, limited);
    const b = await pair(host, limited);
    try {
      const body = JSON.stringify({ function: 'echo' });
      for (const status of [200, 200, 429, 429]) {
        const fast = await send(a.fast, '/run', json, body);
        const hono = await send(b.hono, '/run', json, body);
        expect(normalized(fast)).toEqual(normalized(hono));
        expect(fast.status).toBe(status);
        expect(fast.headers['ratelimit-limit']).toBe('2');
        if (status === 429) {
          expect(fast.headers['retry-after']).toBe('60');
          expect(JSON.parse(fast.body)).toMatchObject({ error: { code: 'RATE_LIMITED' } });
        }
      }
      now += 60_000; // the next window
      expect((await send(a.fast, '/run', json, body)).status).toBe(200);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('too many sync waits: 429 TOO_MANY_REQUESTS with Retry-After, while an async run is still taken', async () => {
    const p = await pair(host, { http: { rateLimit: false, maxInflight: 0 } });
    try {
      const a = await same(p, '/run', json, JSON.stringify({ function: 'echo' }));
      expect(a.status).toBe(429);
      expect(a.headers['retry-after']).toBe('1');
      expect(
        (await send(p.fast, '/run', { ...json, 'x-async': '1' }, JSON.stringify({ function: 'echo' }))).status,
      ).toBe(202);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('a client that goes away frees its sync wait; the shutdown answers a waiting run 202', async () => {
    const shutdown = new AbortController();
    const p = await pair(host, { http: { rateLimit: false, maxInflight: 1 }, shutdownSignal: shutdown.signal });
    try {
      const gone = request({ hostname: '127.0.0.1', port: p.fast, path: '/run', method: 'POST', headers: json });
      gone.on('error', () => undefined);
      gone.end(JSON.stringify({ function: 'nap', payload: { s: 3 } }));
      await vi.waitFor(() => expect(p.taken()).toBe(1), { timeout: 5_000, interval: 10 });
      // The one wait allowed is taken while the client is there.
      await vi.waitFor(
        async () => expect((await send(p.fast, '/run', json, JSON.stringify({ function: 'echo' }))).status).toBe(429),
        { timeout: 5_000, interval: 20 },
      );
      gone.destroy();
      // Once its client is gone the wait is released: the next sync run is taken (its job ran on regardless).
      await vi.waitFor(
        async () => expect((await send(p.fast, '/run', json, JSON.stringify({ function: 'echo' }))).status).toBe(200),
        { timeout: 10_000, interval: 50 },
      );
      const waiting = send(p.fast, '/run', json, JSON.stringify({ function: 'nap', payload: { s: 2 } }));
      await vi.waitFor(
        async () => expect((await send(p.fast, '/run', json, JSON.stringify({ function: 'echo' }))).status).toBe(429),
        { timeout: 5_000, interval: 20 },
      );
      shutdown.abort();
      const answer = await waiting;
      expect(answer.status).toBe(202);
      expect(JSON.parse(answer.body)).toMatchObject({ status: expect.stringMatching(/^(pending|running)$/) });
    } finally {
      await p.close();
    }
  }, 60_000);

  it('leaves every other request to Hono: other methods and paths, /run/ and spellings of it', async () => {
    const p = await pair(host);
    try {
      for (const [method, path] of [
        ['GET', '/run'],
        ['PUT', '/run'],
        ['POST', '/run/'],
        ['POST', '/runs'],
        ['POST', '/RUN'],
        ['POST', '//run'],
        ['GET', '/health'],
      ] as const) {
        const body = method === 'GET' ? undefined : JSON.stringify({ function: 'echo' });
        const fast = await send(p.fast, path, json, body, method);
        const hono = await send(p.hono, path, json, body, method);
        expect(normalized(fast), `${method} ${path}`).toEqual(normalized(hono));
      }
      expect(p.taken()).toBe(0);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('with API keys, no spelling of POST /run runs anything without the key, on either way in', async () => {
    const p = await pair(host, { http: { rateLimit: false, apiKeys: ['k-one'] } });
    try {
      const body = JSON.stringify({ function: 'echo' });
      for (const path of [
        '/run',
        '/run?',
        '/run?x=/fn/',
        '/run#x',
        '/%72un',
        '/./run',
        '/x/../run',
        '/run;x',
        '//run',
        'http://127.0.0.1/run',
        'http://127.0.0.1//run',
      ]) {
        for (const port of [p.fast, p.hono]) {
          const a = await send(port, path, json, body);
          expect([401, 404], `${path} on ${port === p.fast ? 'fast' : 'hono'}: ${a.body}`).toContain(a.status);
        }
      }
    } finally {
      await p.close();
    }
  }, 60_000);
});
