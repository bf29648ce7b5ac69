import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, serverTimeouts, startHost } from '../src/index.js';
import { uploadForm } from './helpers.js';

const SLOW_PY = `import time

def handler(event, context):
    time.sleep(float(event.get("seconds", 1)))
    return {"slept": event.get("seconds", 1)}
`;

const HEADERS_MS = 600;
const BODY_IDLE_MS = 600;
// Far above the other two, so a drop before it proves the idle/header limits did it (slack for a loaded CI).
const REQUEST_MS = 4000;

let host: RunningHost;
let dir: string;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nanogrid-timeouts-'));
  host = await startHost({
    config: {
      sandbox: 'process',
      hostname: '127.0.0.1',
      worker: { concurrency: 2, pollWaitMs: 1000 },
      http: { headersTimeoutMs: HEADERS_MS, bodyIdleTimeoutMs: BODY_IDLE_MS, requestTimeoutMs: REQUEST_MS },
    },
    port: 0,
    cwd: dir,
    logger: silentLogger,
    handleSignals: false,
  });
  port = host.port;
});

afterAll(async () => {
  await host?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Dropped {
  ms: number;
  answer: string;
}

/** Opens a raw connection, lets `attack` write to it, and resolves when the server closes it. */
function rawClient(attack: (write: (s: string) => void) => () => void): Promise<Dropped> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    let answer = '';
    let stop = (): void => undefined;
    socket.on('connect', () => {
      stop = attack((s) => socket.write(s));
    });
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined); // a reset after the 408 is fine
    socket.on('close', () => {
      stop();
      resolve({ ms: Date.now() - started, answer });
    });
    setTimeout(() => reject(new Error('the server never dropped the connection')), 15_000).unref();
  });
}

const health = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/health`)).status;

describe('receive timeouts over real HTTP', () => {
  it('a client that sends headers and part of a body, then stalls, is dropped with 408 in about bodyIdleTimeoutMs; others are served meanwhile', async () => {
    const dropped = rawClient((write) => {
      write(
        'POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"function_id":"',
      );
      return () => undefined;
    });
    expect(await health()).toBe(200);
    const d = await dropped;
    expect(d.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(d.answer).toContain('REQUEST_TIMEOUT');
    expect(d.ms).toBeGreaterThanOrEqual(BODY_IDLE_MS);
    expect(d.ms).toBeLessThan(REQUEST_MS - 1000);
    expect(await health()).toBe(200);
  });

  it('a stalled multipart upload is dropped the same way', async () => {
    const d = await rawClient((write) => {
      write(
        'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 100000\r\n\r\n--zz\r\nContent-Disposition: form-data; name="file"; filename="a.py"\r\n\r\nprint(1)',
      );
      return () => undefined;
    });
    expect(d.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(d.ms).toBeLessThan(REQUEST_MS - 1000);
  });

  it('a slowloris header drip is dropped with 408 within about headersTimeoutMs', async () => {
    const d = await rawClient((write) => {
      write('GET /health HTTP/1.1\r\nHost: x\r\n');
      let n = 0;
      const drip = setInterval(() => write(`X-Drip-${n++}: y\r\n`), 100);
      return () => clearInterval(drip);
    });
    expect(d.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(d.ms).toBeLessThan(REQUEST_MS - 1000);
    expect(await health()).toBe(200);
  });

  it('a body that trickles in just fast enough to stay under the idle limit is cut at requestTimeoutMs', async () => {
    const d = await rawClient((write) => {
      write('POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
      const drip = setInterval(() => write(' '), 100);
      return () => clearInterval(drip);
    });
    expect(d.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(d.ms).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(d.ms).toBeLessThan(REQUEST_MS + 2000);
  });

  it('a sync /run waits for a function that runs longer than every receive timeout', async () => {
    const form = uploadForm({
      file: { name: 'slow.py', content: SLOW_PY },
      function_name: 'slow',
      runtime: 'python3',
      timeout: '30',
    });
    const up = await fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', body: form });
    expect(up.status).toBe(201);
    const { function_id } = (await up.json()) as { function_id: string };
    const seconds = (REQUEST_MS + 1000) / 1000;
    const res = await fetch(`http://127.0.0.1:${port}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ function_id, payload: { seconds } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'completed', result: { slept: seconds } });
  });

  it('a keep-alive connection idle for longer than headersTimeoutMs still serves its next request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const once = () =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = get({ host: '127.0.0.1', port, path: '/health', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
        });
        req.on('error', reject);
      });
    const first = await once();
    await new Promise((r) => setTimeout(r, HEADERS_MS * 2)); // the idle period itself is what is tested
    const second = await once();
    agent.destroy();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.socket).toBe(first.socket);
  });
});

describe('serverTimeouts', () => {
  it('has second-scale defaults that bound receiving, not answering', () => {
    const t = serverTimeouts();
    expect(t).toMatchObject({ headersTimeout: 10_000, bodyIdleTimeout: 10_000, requestTimeout: 300_000, timeout: 0 });
    expect(t.connectionsCheckingInterval).toBeLessThanOrEqual(1000);
  });

  it('refuses a header timeout over the request timeout with CONFIG_INVALID', () => {
    expect(() => serverTimeouts({ headersTimeoutMs: 5000, requestTimeoutMs: 1000 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
