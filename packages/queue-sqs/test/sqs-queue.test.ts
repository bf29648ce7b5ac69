import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { NanoGridError, type Delivery, type Logger } from '@nanogrid/core';
import { sqsHeartbeat, sqsQueue, type SqsQueue } from '../src/index.js';
import { LOCAL_SQS_CREDENTIALS, startLocalSqs, type LocalSqs } from '../src/local-server.js';
import { localQueue, rawClient, readDeadLetters, sendRaw, uniqueQueueName } from './sqs-fixtures.js';

async function rejection(p: Promise<unknown>): Promise<NanoGridError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NanoGridError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** Receives until one delivery arrives or `ms` pass. */
async function one(q: SqsQueue, ms = 5000): Promise<Delivery | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const [d] = await q.receive({ max: 1, waitMs: Math.min(1000, deadline - Date.now()) });
    if (d) return d;
  }
  return undefined;
}

describe('sqsQueue on local-aws-sqs', () => {
  let local: LocalSqs;
  let raw: SQSClient;
  const opened: SqsQueue[] = [];
  const track = (q: SqsQueue) => (opened.push(q), q);

  beforeAll(async () => {
    local = await startLocalSqs();
    raw = rawClient(local);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((q) => q.close()));
  });
  afterAll(async () => {
    raw?.destroy();
    await local?.stop();
  });

  it('createQueue makes the queue and a DLQ with the redrive policy, 14-day retention, 300 s visibility, 20 s wait', async () => {
    const q = track(localQueue(local, { maxAttempts: 4 }));
    const { url, dlqUrl } = await q.urls();
    expect(dlqUrl).toMatch(/-dlq$/);
    const { Attributes: a = {} } = await raw.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    expect(a.VisibilityTimeout).toBe('300');
    expect(a.MessageRetentionPeriod).toBe('1209600');
    expect(a.ReceiveMessageWaitTimeSeconds).toBe('20');
    const { Attributes: d = {} } = await raw.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn', 'MessageRetentionPeriod'] }),
    );
    expect(JSON.parse(a.RedrivePolicy ?? '{}')).toEqual({ maxReceiveCount: 4, deadLetterTargetArn: d.QueueArn });
    expect(d.MessageRetentionPeriod).toBe('1209600');

    // A second backend on the same name finds the queue and its DLQ through the redrive policy.
    const again = track(sqsQueue({ queueUrl: url, endpoint: local.endpoint, credentials: LOCAL_SQS_CREDENTIALS }));
    expect(await again.urls()).toEqual({ url, dlqUrl });
  });

  it('delivers both message shapes of the original system, normalised', async () => {
    const q = track(localQueue(local));
    const { url } = await q.urls();
    await sendRaw(
      raw,
      url,
      JSON.stringify({
        job_id: 'job-orig-1',
        function_id: 'fn-a',
        s3_key: 'functions/fn-a/code.zip',
        runtime: 'python3.11',
        handler: 'main.handler',
        payload: { x: 1 },
        timeout: 30,
      }),
    );
    const first = await one(q);
    expect(first?.job).toEqual({
      job_id: 'job-orig-1',
      function_id: 'fn-a',
      s3_key: 'functions/fn-a/code.zip',
      runtime: 'python3.11',
      handler: 'main.handler',
      payload: { x: 1 },
      timeout: 30,
    });
    expect(first?.attempt).toBe(1);
    await first?.ack();

    await sendRaw(
      raw,
      url,
      JSON.stringify({
        requestId: 'req-plus-7',
        functionId: 'fn-b',
        runtime: 'nodejs20.x',
        s3Bucket: 'code-bucket',
        s3Key: 'functions/fn-b/code.zip',
        timeoutMs: 90000,
        memoryMb: 1024,
      }),
    );
    const second = await one(q);
    expect(second?.job).toEqual({
      job_id: 'req-plus-7',
      function_id: 'fn-b',
      runtime: 'nodejs20.x',
      s3_key: 'functions/fn-b/code.zip',
      timeout: 90,
      memory_mb: 1024,
      payload: {},
    });
    await second?.ack();
    expect(await q.depth()).toBe(0);
  });

  it('dead-letters garbage at once with a reason and never delivers it', async () => {
    const q = track(localQueue(local, { visibilityTimeoutSec: 1 }));
    const { url, dlqUrl } = await q.urls();
    await sendRaw(raw, url, 'this is { not json');
    await sendRaw(raw, url, JSON.stringify({ function_id: 'fn-x', payload: {} }));
    await sendRaw(raw, url, JSON.stringify({ job_id: '../../etc', function_id: 'fn-x' }));
    await q.send({ job_id: 'job-good', function_id: 'fn-ok', payload: null });

    const seen: string[] = [];
    const deadline = Date.now() + 4000; // several visibility timeouts: garbage must not come back
    while (Date.now() < deadline) {
      for (const d of await q.receive({ max: 10, waitMs: 1000 })) {
        seen.push(d.job.job_id);
        await d.ack();
      }
    }
    expect(seen).toEqual(['job-good']);
    const dead = await readDeadLetters(raw, dlqUrl!);
    expect(dead.map((d) => d.body).sort()).toEqual(
      [
        JSON.stringify({ function_id: 'fn-x', payload: {} }),
        JSON.stringify({ job_id: '../../etc', function_id: 'fn-x' }),
        'this is { not json',
      ].sort(),
    );
    const reasons = Object.fromEntries(dead.map((d) => [d.body, d.reason]));
    expect(reasons['this is { not json']).toMatch(/not JSON/);
    expect(reasons[JSON.stringify({ function_id: 'fn-x', payload: {} })]).toMatch(/job_id/);
    expect(reasons[JSON.stringify({ job_id: '../../etc', function_id: 'fn-x' })]).toMatch(/job_id/);
    expect(await q.depth()).toBe(0);
  });

  it('lets SQS redrive a job to the DLQ after maxAttempts receives', async () => {
    const q = track(localQueue(local, { maxAttempts: 2, visibilityTimeoutSec: 1 }));
    const { dlqUrl } = await q.urls();
    await q.send({ job_id: 'job-doomed', function_id: 'fn-fails', payload: { n: 1 } });
    const first = await one(q);
    expect(first?.attempt).toBe(1);
    await first?.retry(); // visible again at once, counts as a receive
    const second = await one(q);
    expect(second?.attempt).toBe(2);
    // Never acked: when its visibility runs out SQS moves it, and it is not delivered again.
    expect(await one(q, 3000)).toBeUndefined();
    const dead = await readDeadLetters(raw, dlqUrl!);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!.body)).toMatchObject({ job_id: 'job-doomed', function_id: 'fn-fails' });
    expect(dead[0]!.reason).toBeUndefined(); // moved by the redrive policy, not by us
  });

  it('extend() and sqsHeartbeat keep a long job invisible past its visibility timeout', async () => {
    const q = track(localQueue(local, { visibilityTimeoutSec: 1 }));
    await q.send({ job_id: 'job-long', function_id: 'fn-slow', payload: {} });
    const d = await one(q);
    expect(d).toBeDefined();
    await d!.extend(2000);
    expect(await one(q, 1500)).toBeUndefined(); // past the 1 s timeout, still hidden

    const stop = sqsHeartbeat(d!, { everyMs: 300, extendMs: 1000 });
    expect(await one(q, 2500)).toBeUndefined(); // heartbeats keep it hidden (not counted as attempts)
    stop();
    const again = await one(q, 4000);
    expect(again?.job.job_id).toBe('job-long');
    expect(again?.attempt).toBe(2);
    await again?.ack();
  });

  it("extend() stops asking for more once SQS's 12 h ceiling is reached, with a warning", async () => {
    const warnings: string[] = [];
    const logger: Logger = { info() {}, error() {}, warn: (m) => warnings.push(m) };
    const q = track(localQueue(local, { visibilityTimeoutSec: 30, logger }));
    await q.send({ job_id: 'job-12h', function_id: 'fn-slow', payload: {} });
    const d = await one(q);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 12 * 3600 * 1000);
      await d!.extend(60_000);
    } finally {
      vi.useRealTimers();
    }
    expect(warnings.join('\n')).toMatch(/12 h/);
    await d!.ack();
  });

  it('honours waitMs in whole seconds and an AbortSignal', async () => {
    const q = track(localQueue(local));
    let t0 = Date.now();
    expect(await q.receive({ max: 5, waitMs: 400 })).toEqual([]); // rounds down to a 0 s wait
    expect(Date.now() - t0).toBeLessThan(900);

    const ac = new AbortController();
    t0 = Date.now();
    const pending = q.receive({ max: 1, waitMs: 20_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    expect(await pending).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2000);

    t0 = Date.now();
    const closing = q.receive({ max: 1, waitMs: 20_000 });
    await sleep(100);
    await q.close();
    expect(await closing).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("a receive leaves no listener on its caller's signal once it returns (a worker's signal lives for hours)", async () => {
    const q = track(localQueue(local));
    const ac = new AbortController();
    for (let i = 0; i < 5; i++) expect(await q.receive({ max: 1, waitMs: 0, signal: ac.signal })).toEqual([]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('depth() counts waiting messages including delayed ones', async () => {
    const q = track(localQueue(local));
    await q.send({ job_id: 'job-d1', function_id: 'fn', payload: {} });
    await q.send({ job_id: 'job-d2', function_id: 'fn', payload: {} });
    const { url } = await q.urls();
    await raw.send(
      new (await import('@aws-sdk/client-sqs')).SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify({ job_id: 'job-d3', function_id: 'fn' }),
        DelaySeconds: 60,
      }),
    );
    expect(await q.depth()).toBe(3);
    const d = await one(q);
    expect(await q.depth()).toBe(2);
    await d?.ack();
  });

  it('check() passes on a good queue', async () => {
    await expect(track(localQueue(local)).check()).resolves.toBeUndefined();
  });

  it('check() fails with CONFIG_INVALID naming the backend, the queue and the SDK error on wrong credentials', async () => {
    const name = uniqueQueueName('creds');
    await track(localQueue(local, { queueName: name })).check();
    const wrong = track(
      sqsQueue({
        queueName: name,
        endpoint: local.endpoint,
        credentials: { accessKeyId: 'AKIAWRONG', secretAccessKey: 'nope' },
        requestAttempts: 1,
      }),
    );
    const err = await rejection(wrong.check());
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.plugin).toBe('sqs-queue');
    expect(err.message).toContain('sqs-queue');
    expect(err.message).toContain(name);
    expect(err.message).toContain('InvalidClientTokenId'); // the SDK's name for SQS's answer
  });

  it('check() fails with CONFIG_INVALID for a queue that does not exist', async () => {
    const name = uniqueQueueName('missing');
    const err = await rejection(
      track(sqsQueue({ queueName: name, endpoint: local.endpoint, credentials: LOCAL_SQS_CREDENTIALS })).check(),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(name);
    expect(err.message).toContain('QueueDoesNotExist');
  });

  it('check() fails with BACKEND_UNAVAILABLE when nothing listens at the endpoint', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const q = track(
      sqsQueue({
        queueName: 'nobody-home',
        endpoint: `http://127.0.0.1:${port}`,
        credentials: LOCAL_SQS_CREDENTIALS,
        requestAttempts: 1,
      }),
    );
    const err = await rejection(q.check());
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.message).toContain('nobody-home');
  });

  it('refuses a job that is not valid before sending it', async () => {
    const q = track(localQueue(local));
    const err = await rejection(q.send({ job_id: 'has space', function_id: 'fn', payload: {} }));
    expect(err.code).toBe('BAD_MESSAGE');
  });
});
