import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fsStorage } from '../src/defaults/fs-storage.js';
import { memoryResults } from '../src/defaults/memory-results.js';
import type { EngineOptions } from '../src/engine/engine-options.js';
import type { JobRecord } from '../src/job.js';
import { silentLogger } from '../src/logger.js';
import { type CallbackUrlPolicy, checkCallbackUrl, guardedLookup } from '../src/webhooks/callback-url-guard.js';
import { postCallback } from '../src/webhooks/post-callback.js';
import { MAX_PARALLEL_DELIVERIES, WebhookOutbox } from '../src/webhooks/webhook-outbox.js';
import {
  SIGNATURE_HEADER,
  callbackBody,
  signBody,
  slackMessage,
  verifySignature,
} from '../src/webhooks/webhook-message.js';

const record: JobRecord = {
  job_id: 'job-1',
  function_id: 'fn-1',
  status: 'failed',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:01.000Z',
  output_files: [],
  execution_time_ms: 42,
  error: { code: 'FUNCTION_ERROR', type: 'ValueError', message: 'divisor must not be zero' },
};

/** Engine options for a WebhookOutbox on its own: only the webhook settings, with the given network policy. */
function outboxOptions(policy: CallbackUrlPolicy): EngineOptions {
  return {
    webhooks: {
      secret: 's',
      policy,
      retryMs: 1000,
      maxDelayMs: 60_000,
      maxAgeMs: 86_400_000,
      timeoutMs: 5_000,
      sweepMs: 60_000,
    },
  } as unknown as EngineOptions;
}

describe('callback URL guard (SSRF)', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://127.1/hook',
    'http://0x7f000001/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://localhost:8080/hook',
    'http://api.localhost/hook',
    'http://10.1.2.3/hook',
    'http://172.16.0.1/hook',
    'http://192.168.1.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/hook',
    'http://0.0.0.0/hook',
    'http://[fd00::1]/hook',
    'http://[fe80::1]/hook',
    // Other spellings of loopback and the metadata address, and ranges that tunnel to IPv4.
    'http://2130706433/hook',
    'http://0177.0.0.1/hook',
    'http://017700000001/hook',
    'http://%31%32%37.0.0.1/hook',
    'http://LOCALHOST/hook',
    'http://localhost./hook',
    'http://a.localhost./hook',
    'http://2852039166/latest/meta-data/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[::127.0.0.1]/hook',
    'http://[64:ff9b::7f00:1]/hook',
    'http://[2002:7f00:1::]/hook',
    'http://[2001::1]/hook',
    'http://[fec0::1]/hook',
    'http://[::]/hook',
    'http://255.255.255.255/hook',
    'http://224.0.0.1/hook',
    'http://198.18.0.1/hook',
    'http://240.0.0.1/hook',
  ])('refuses %s', (url) => {
    expect(() => checkCallbackUrl(url)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it.each([
    'file:///etc/passwd',
    'gopher://example.com/',
    'ftp://example.com/',
    'http://user:pw@example.com/',
    'not a url',
    `https://example.com/${'a'.repeat(3000)}`,
  ])('refuses the shape of %s', (url) => {
    expect(() => checkCallbackUrl(url)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('accepts public addresses and names, and private ones only when allowed', () => {
    expect(checkCallbackUrl('https://hooks.slack.com/services/T/B/X').hostname).toBe('hooks.slack.com');
    expect(checkCallbackUrl('http://93.184.216.34/hook').hostname).toBe('93.184.216.34');
    expect(checkCallbackUrl('http://127.0.0.1:9/x', { allowNetworks: ['127.0.0.0/8'] }).port).toBe('9');
    expect(() => checkCallbackUrl('http://10.0.0.1/', { allowNetworks: ['127.0.0.0/8'] })).toThrow();
    expect(() => checkCallbackUrl('http://example.com/', { allowHttp: false })).toThrow();
  });

  it('checks the addresses a name resolves to at connection time', async () => {
    const lookup = guardedLookup({});
    const err = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
    const ok = await new Promise<unknown>((resolve) =>
      guardedLookup({ allowNetworks: ['127.0.0.0/8', '::1/128'] })('localhost', {}, (e, address) =>
        resolve(e ?? address),
      ),
    );
    expect(ok).toMatch(/^(127\.|::1)/);
  });
});

describe('callback bodies', () => {
  it('signs with HMAC-SHA256 and verifies in constant time', () => {
    const body = callbackBody(record, 'json');
    const sig = signBody(body, 's3cret');
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(body, 's3cret', sig)).toBe(true);
    expect(verifySignature(`${body} `, 's3cret', sig)).toBe(false);
    expect(verifySignature(body, 'other', sig)).toBe(false);
    expect(verifySignature(body, 's3cret', undefined)).toBe(false);
  });

  it('writes a Slack message with function, status, duration and error', () => {
    const msg = slackMessage(record, 'divide') as { text: string; blocks: { text?: { text: string } }[] };
    expect(msg.text).toContain('divide');
    expect(msg.text).toContain('failed');
    expect(msg.text).toContain('42 ms');
    expect(JSON.stringify(msg.blocks)).toContain('divisor must not be zero');
    const long = slackMessage({ ...record, error: { code: 'FUNCTION_ERROR', message: 'x'.repeat(10_000) } });
    for (const b of (long as { blocks: { text?: { text: string } }[] }).blocks) {
      expect((b.text?.text ?? '').length).toBeLessThanOrEqual(3000);
    }
  });
});

describe('postCallback', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => handler(req, res, body));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }
  const allowLoopback = { allowNetworks: ['127.0.0.0/8'] };

  it('delivers a signed body to an allowed receiver', async () => {
    let got: { sig?: string; body?: string } = {};
    const url = await listen((req, res, body) => {
      got = { sig: req.headers[SIGNATURE_HEADER.toLowerCase()] as string, body };
      res.end('ok');
    });
    const body = callbackBody(record, 'json');
    const r = await postCallback(url, body, {
      policy: allowLoopback,
      headers: { [SIGNATURE_HEADER]: signBody(body, 'k') },
    });
    expect(r).toEqual({ ok: true, status: 200, retry: false });
    expect(verifySignature(got.body!, 'k', got.sig)).toBe(true);
  });

  it('retries 5xx/429, not 4xx, never follows a redirect, and refuses loopback by default', async () => {
    const statuses = [503, 429, 404, 302];
    const url = await listen((_req, res) => {
      const s = statuses.shift()!;
      res.writeHead(s, s === 302 ? { location: 'http://169.254.169.254/' } : {}).end();
    });
    const opts = { policy: allowLoopback };
    expect(await postCallback(url, '{}', opts)).toMatchObject({ ok: false, status: 503, retry: true });
    expect(await postCallback(url, '{}', opts)).toMatchObject({ ok: false, status: 429, retry: true });
    expect(await postCallback(url, '{}', opts)).toMatchObject({ ok: false, status: 404, retry: false });
    expect(await postCallback(url, '{}', opts)).toMatchObject({ ok: false, status: 302, retry: false });
    expect(await postCallback(url, '{}')).toMatchObject({ ok: false, retry: false });
  });

  it('ends an attempt whose receiver trickles its answer (each byte would reset an idle timeout)', async () => {
    const timers: NodeJS.Timeout[] = [];
    const url = await listen((_req, res) => {
      // Headers one byte at a time, never complete: only a deadline on the whole attempt ends it.
      const raw = `HTTP/1.1 200 OK\r\nx-slow: ${'a'.repeat(10_000)}`;
      let i = 0;
      const t = setInterval(() => {
        if (i < raw.length) res.socket?.write(raw[i++]!);
      }, 20);
      timers.push(t);
    });
    const r = await postCallback(url, '{}', { policy: allowLoopback, timeoutMs: 300 });
    for (const t of timers) clearInterval(t);
    expect(r).toMatchObject({ ok: false, retry: true, error: expect.stringContaining('no answer within 300 ms') });
    server?.closeAllConnections();
  });

  it('is done at the status line: a 2xx whose body never ends is delivered', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('still going');
    });
    expect(await postCallback(url, '{}', { policy: allowLoopback, timeoutMs: 5_000 })).toEqual({
      ok: true,
      status: 200,
      retry: false,
    });
    server?.closeAllConnections();
  });

  it('gives up on a receiver that never answers, as a retryable failure', async () => {
    const url = await listen(() => {}); // reads the body, never answers
    const r = await postCallback(url, '{}', { policy: allowLoopback, timeoutMs: 200 });
    expect(r).toMatchObject({ ok: false, retry: true });
    server?.closeAllConnections();
  });
});

describe('webhook outbox under load', () => {
  let server: Server | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`a sweep over 60 pending callbacks opens at most ${MAX_PARALLEL_DELIVERIES} connections at once`, async () => {
    let open = 0;
    let most = 0;
    const delivered = new Set<string>();
    server = createServer((req, res) => {
      open++;
      most = Math.max(most, open);
      req.resume();
      // A slow receiver: every answer takes 100 ms.
      setTimeout(() => {
        delivered.add(String(req.headers['x-nanogrid-delivery']));
        open--;
        res.end('ok');
      }, 100);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-outbox-'));
    const storage = fsStorage({ dir });
    const options = outboxOptions({ allowNetworks: ['127.0.0.0/8'] });
    const outbox = new WebhookOutbox(storage, memoryResults(), options, silentLogger);
    const ids = Array.from({ length: 60 }, (_, i) => `job-${i}`);
    for (const id of ids) await outbox.record({ ...record, job_id: id, callback_url: url });
    await outbox.sweep();
    expect([...delivered].sort()).toEqual([...ids].sort());
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(MAX_PARALLEL_DELIVERIES);
    expect(await outbox.pending()).toEqual([]);
  }, 30_000);

  it('never logs a callback URL’s path (a Slack token) when it gives up on it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-outbox-'));
    const logged: unknown[] = [];
    const logger = { info() {}, warn: (...a: unknown[]) => logged.push(a), error: (...a: unknown[]) => logged.push(a) };
    // the network was allowed when the job ran; it is not any more
    const outbox = new WebhookOutbox(fsStorage({ dir }), memoryResults(), outboxOptions({}), logger);
    const url = 'http://127.0.0.1:9/services/T000/B000/SECRETTOKEN';
    await outbox.record({ ...record, job_id: 'job-secret', callback_url: url });
    await outbox.sweep();
    expect(await outbox.pending()).toEqual([]);
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain('SECRETTOKEN');
    expect(JSON.stringify(logged)).toContain('http://127.0.0.1:9/…');
  });
});
