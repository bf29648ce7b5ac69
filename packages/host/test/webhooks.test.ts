import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type NanoGrid,
  type NanoGridConfig,
  type QueueSource,
  type ResultSink,
  composeNanoGrid,
  fsStorage,
  memoryQueue,
  memoryResults,
  resolveEngineOptions,
  silentLogger,
  verifySignature,
} from '@nanogrid/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisQueue, redisResults } from '@nanogrid/redis';
import { type LocalRedis, redisTestEnv, startRedisServer, uniquePrefix } from '../../redis/test/redis-server.js';
import { defaultRuntimes, sandboxPicker, validateConfig } from '../src/index.js';
import { type ErrorJson, FAIL_PY, HELLO_PY, type TestHost, deploy, makeHost, run, startTestHost } from './helpers.js';
import { type WebhookReceiver, startReceiver } from './webhook-receiver.js';

const SECRET = 'whsec-test-secret';
const redisEnv = redisTestEnv();
const LOOPBACK = { secret: SECRET, allowNetworks: ['127.0.0.0/8'], retryMs: 20, sweepMs: 60_000 };

let host: TestHost;
let receiver: WebhookReceiver;

beforeAll(async () => {
  host = await startTestHost({ sandbox: 'process', webhooks: LOOPBACK }, { http: { rateLimit: false } });
  await deploy(host.app, 'hello', HELLO_PY);
  await deploy(host.app, 'boom', FAIL_PY, { handler: 'boom.handler' });
}, 60_000);
afterAll(() => host?.close());
afterEach(() => receiver?.close());

describe('completion webhooks over POST /run', () => {
  it('posts the final record, signed, with a delivery id', async () => {
    receiver = await startReceiver();
    const res = await run(host.app, { function: 'hello', payload: { name: 'Hook' }, callback_url: receiver.url });
    expect(res.status).toBe(200);
    const job = (await res.json()) as { job_id: string; callback_url: string };
    // The path may be the receiver's secret (Slack's are): /run and /status show the origin only.
    expect(job.callback_url).toBe(`${new URL(receiver.url).origin}/…`);
    const [got] = await receiver.waitFor(1);
    expect(verifySignature(got?.body ?? '', SECRET, got?.headers['x-nanogrid-signature'] as string)).toBe(true);
    expect(verifySignature(got?.body ?? '', 'another-secret', got?.headers['x-nanogrid-signature'] as string)).toBe(
      false,
    );
    expect(got?.headers['x-nanogrid-delivery']).toBe(job.job_id);
    expect(got?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got?.body ?? '')).toMatchObject({
      job_id: job.job_id,
      status: 'completed',
      result: { message: 'Hello, Hook!' },
    });
  });

  it('slack format posts a Slack message naming function, status and error', async () => {
    receiver = await startReceiver();
    const res = await run(host.app, { function: 'boom', callback_url: receiver.url, callback_format: 'slack' });
    expect(((await res.json()) as { status: string }).status).toBe('failed');
    const [got] = await receiver.waitFor(1);
    const msg = JSON.parse(got?.body ?? '') as { text: string; blocks: { text?: { text: string } }[] };
    expect(msg.text).toContain('boom');
    expect(msg.text).toContain('failed');
    expect(msg.blocks.map((b) => b.text?.text ?? '').join('\n')).toContain('divisor must not be zero');
    expect(verifySignature(got?.body ?? '', SECRET, got?.headers['x-nanogrid-signature'] as string)).toBe(true);
  });

  it('retries 5xx with backoff: 500, 500, 200 is three attempts under one delivery id', async () => {
    receiver = await startReceiver();
    receiver.answers.push(500, 500);
    const res = await run(host.app, { function: 'hello', callback_url: receiver.url }, { 'x-async': 'true' });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    const got = await receiver.waitFor(3);
    expect(got.map((r) => r.headers['x-nanogrid-delivery'])).toEqual([job_id, job_id, job_id]);
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    await expect.poll(() => host.nanogrid.webhooks.pending()).toEqual([]);
    const metrics = await host.nanogrid.metrics.text();
    expect(metrics).toMatch(/nanogrid_webhook_attempts_total\{outcome="retry"\} [1-9]/);
    expect(metrics).toMatch(/nanogrid_webhook_attempts_total\{outcome="delivered"\} [1-9]/);
  });

  it('a 4xx answer is final (no retry) and leaves nothing in the outbox', async () => {
    receiver = await startReceiver();
    receiver.answers.push(410);
    await run(host.app, { function: 'hello', callback_url: receiver.url });
    await receiver.waitFor(1);
    await expect.poll(() => host.nanogrid.webhooks.pending()).toEqual([]);
    await host.nanogrid.webhooks.sweep(Date.now() + 3_600_000);
    expect(receiver.received).toHaveLength(1);
  });

  it('a function deployed with callback_url calls it for every job; /run may name another', async () => {
    receiver = await startReceiver();
    const other = await startReceiver('/other');
    try {
      await deploy(host.app, 'hooked', HELLO_PY, { callback_url: receiver.url, callback_format: 'slack' });
      const info = (await (await host.app.request('/functions/hooked')).json()) as Record<string, unknown>;
      expect(info).toMatchObject({ callback_url: `${new URL(receiver.url).origin}/…`, callback_format: 'slack' });
      await run(host.app, { function: 'hooked' });
      const [got] = await receiver.waitFor(1);
      expect(JSON.parse(got?.body ?? '')).toHaveProperty('blocks');
      await run(host.app, { function: 'hooked', callback_url: other.url });
      const [own] = await other.waitFor(1);
      expect(JSON.parse(own?.body ?? '')).toMatchObject({ status: 'completed' });
    } finally {
      await other.close();
    }
  });

  it('an Idempotency-Key replay keeps the callback; another callback under the key is 409', async () => {
    receiver = await startReceiver();
    const key = { 'idempotency-key': `hook-${Date.now()}`, 'x-async': 'true' };
    const body = { function: 'hello', callback_url: receiver.url };
    const first = (await (await run(host.app, body, key)).json()) as { job_id: string };
    const again = await run(host.app, body, key);
    expect(((await again.json()) as { job_id: string }).job_id).toBe(first.job_id);
    const other = await run(host.app, { ...body, callback_url: `${receiver.url}/2` }, key);
    expect(other.status).toBe(409);
    await receiver.waitFor(1);
    await expect.poll(() => host.nanogrid.webhooks.pending()).toEqual([]);
    expect(receiver.received).toHaveLength(1);
  });

  it('refuses bad callbacks with 400 VALIDATION_FAILED and queues nothing', async () => {
    const bad: [unknown, string][] = [
      ['file:///etc/passwd', 'callback_url'],
      ['http://user:pw@example.com/hook', 'callback_url'],
      ['not a url', 'callback_url'],
      [42, 'callback_url'],
    ];
    for (const [url, field] of bad) {
      const res = await run(host.app, { function: 'hello', callback_url: url });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error).toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
    const fmt = await run(host.app, {
      function: 'hello',
      callback_url: 'https://example.com/',
      callback_format: 'xml',
    });
    expect(fmt.status).toBe(400);
    expect(((await fmt.json()) as ErrorJson).error).toMatchObject({ field: 'callback_format' });
  });
});

describe('SSRF: loopback and private callbacks without webhooks.allowNetworks', () => {
  let plain: TestHost;
  beforeAll(async () => {
    plain = await makeHost({ rateLimit: false });
    await deploy(plain.app, 'hello', HELLO_PY);
  }, 60_000);
  afterAll(() => plain?.close());

  it.each([
    'http://127.0.0.1:9/hook',
    'http://localhost/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://10.1.2.3/hook',
    'http://169.254.169.254/latest/meta-data/',
  ])('POST /run with callback_url %s is 400 VALIDATION_FAILED', async (url) => {
    const res = await run(plain.app, { function: 'hello', callback_url: url });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'callback_url' });
  });

  it('deploy with a loopback callback_url is 400 VALIDATION_FAILED', async () => {
    await expect(deploy(plain.app, 'sneaky', HELLO_PY, { callback_url: 'http://127.0.0.1/x' })).rejects.toThrow(
      /400.*VALIDATION_FAILED/,
    );
  });
});

/** Two hosts (or two lives of one) on the same storage, composed as a deployment would. */
describe('durable outbox across engines', () => {
  let dir: string;
  const engines: NanoGrid[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-webhooks-'));
  });
  afterAll(async () => {
    await Promise.allSettled(engines.map((e) => e.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function engine(
    shared: { queue: QueueSource; results: ResultSink },
    webhooks: NanoGridConfig['webhooks'],
  ): Promise<NanoGrid> {
    const e = await composeNanoGrid(
      {
        dataDir: join(dir, `data-${engines.length}`),
        storage: fsStorage({ dir: join(dir, 'storage') }),
        ...shared,
        sandbox: 'process',
        worker: { concurrency: 2, pollWaitMs: 200 },
        runtimes: defaultRuntimes(),
        webhooks,
      },
      { runtimes: [], cwd: dir, logger: silentLogger, pickSandbox: sandboxPicker() },
    );
    engines.push(e);
    e.worker?.start();
    return e;
  }

  it('a callback pending when the engine stops is delivered by the next one (memory results lost)', async () => {
    receiver = await startReceiver();
    receiver.answers.push(500);
    // The retry is due 2 s after the first attempt: well after this engine is stopped, so the next one sends it.
    const first = await engine(
      { queue: memoryQueue({ name: `wq-${Date.now()}` }), results: memoryResults() },
      { ...LOOPBACK, retryMs: 2000 },
    );
    await first.registry.deploy({
      functionName: 'hello',
      runtime: 'python3.9',
      fileName: 'hello.py',
      data: Buffer.from(HELLO_PY),
    });
    const { record } = await first.jobs.submit('hello', { name: 'Later' }, 'function', {
      callback: { url: receiver.url },
    });
    await first.jobs.wait(record.job_id, { timeoutMs: 30_000 });
    await receiver.waitFor(1);
    await expect.poll(async () => (await first.webhooks.pending())[0]?.attempts).toBe(1);
    await first.close();
    expect(receiver.received).toHaveLength(1);

    // A new process: fresh queue and results (the embedded defaults do not survive a restart), same storage.
    const second = await engine(
      { queue: memoryQueue({ name: `wq2-${Date.now()}` }), results: memoryResults() },
      { ...LOOPBACK, sweepMs: 50 },
    );
    const got = await receiver.waitFor(2);
    expect(got[1]?.headers['x-nanogrid-delivery']).toBe(record.job_id);
    expect(got[1]?.body).toBe(got[0]?.body);
    expect(JSON.parse(got[1]?.body ?? '')).toMatchObject({
      job_id: record.job_id,
      result: { message: 'Hello, Later!' },
    });
    await expect.poll(() => second.webhooks.pending()).toEqual([]);
    await second.close();
  }, 60_000);

  /** Six jobs, each callback failing once: every retry races between engines; each attempt must arrive once. */
  async function deliverOnceAcross(backends: () => { queue: QueueSource; results: ResultSink }): Promise<void> {
    receiver = await startReceiver();
    const seen = new Map<string, number>();
    receiver.respond = (h) => {
      const id = String(h['x-nanogrid-delivery']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return seen.get(id) === 1 ? 503 : 200;
    };
    const a = await engine(backends(), { ...LOOPBACK, sweepMs: 5 });
    const b = await engine(backends(), { ...LOOPBACK, sweepMs: 5 });
    await a.registry.deploy({
      functionName: 'hello',
      runtime: 'python3.9',
      fileName: 'hello.py',
      data: Buffer.from(HELLO_PY),
    });
    const jobs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).jobs.submit('hello', { name: `n${i}` }, 'function', { callback: { url: receiver.url } }),
      ),
    );
    await receiver.waitFor(12);
    await expect.poll(async () => (await a.webhooks.pending()).length, { timeout: 10_000 }).toBe(0);
    await Promise.all([a.webhooks.sweep(), b.webhooks.sweep()]);
    expect(receiver.received).toHaveLength(12);
    expect([...seen.keys()].sort()).toEqual(jobs.map((j) => j.record.job_id).sort());
    expect([...seen.values()]).toEqual([2, 2, 2, 2, 2, 2]);
    await Promise.all([a.close(), b.close()]);
  }

  it('two engines sharing storage and results deliver each attempt once', async () => {
    const shared = { queue: memoryQueue({ name: `wq3-${Date.now()}` }), results: memoryResults() };
    await deliverOnceAcross(() => shared);
  }, 60_000);

  describe.skipIf(!redisEnv.ready)('on Redis', () => {
    let redis: LocalRedis;
    beforeAll(async () => {
      redis = await startRedisServer();
    }, 30_000);
    afterAll(() => redis?.dispose());

    it('two engines, each with its own Redis clients, deliver each attempt once', async () => {
      const keyPrefix = uniquePrefix('webhooks');
      await deliverOnceAcross(() => ({
        queue: redisQueue({ connection: redis.url, keyPrefix }),
        results: redisResults({ connection: redis.url, keyPrefix }),
      }));
    }, 60_000);
  });
});

describe('webhooks config', () => {
  it('refuses networks that are not CIDRs and unknown keys (CONFIG_INVALID)', () => {
    expect(() => validateConfig({ webhooks: { allowNetworks: ['everything'] } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => validateConfig({ webhooks: { secrets: 'x' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => resolveEngineOptions({ webhooks: { allowNetworks: ['10.0.0.0/99'] } }, '/tmp')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { field: 'webhooks.allowNetworks' } }),
    );
    expect(resolveEngineOptions({ webhooks: { allowNetworks: ['10.0.0.0/8'] } }, '/tmp').webhooks).toMatchObject({
      policy: { allowNetworks: ['10.0.0.0/8'] },
      retryMs: 1000,
      maxDelayMs: 600_000,
      maxAgeMs: 86_400_000,
    });
  });
});
