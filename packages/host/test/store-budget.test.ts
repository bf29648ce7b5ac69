import type { MemoryQueue, MemoryResults } from '@nanogrid/core';
import { SPILL_PREFIX, memoryQueue, memoryResults } from '@nanogrid/core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@nanogrid/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHost } from '../src/index.js';
import { type ErrorJson, type TestHost, deploy, run, startTestHost, uploadForm } from './helpers.js';

const MiB = 1024 * 1024;
const FIVE_MB = 5_000_000;

/** Returns a 5 MB string (or the length of the payload's blob when it has one). */
const FAT_PY = `def handler(event, context):
    if "blob" in event:
        return {"got": len(event["blob"]), "i": event["i"]}
    return {"blob": "x" * ${FIVE_MB}, "i": event.get("i")}
`;

let host: TestHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

const rss = (): number => Math.round(process.memoryUsage().rss / MiB);

async function submit(app: TestHost['app'], function_id: string, payload: unknown): Promise<Response> {
  return run(app, { function_id, payload }, { 'x-async': 'true' });
}

async function finalOf(app: TestHost['app'], jobId: string): Promise<Record<string, unknown>> {
  let body: Record<string, unknown> = {};
  await vi.waitFor(
    async () => {
      body = (await (await app.request(`/status/${jobId}`)).json()) as Record<string, unknown>;
      expect(['completed', 'failed']).toContain(body['status']);
    },
    { timeout: 120_000, interval: 100 },
  );
  return body;
}

describe('embedded queue and result store stay bounded', () => {
  it('100 async results of 5 MB: records hold references, the results live in storage, /status and sync /run return them whole', async () => {
    const results: MemoryResults = memoryResults({ maxBytes: 16 * MiB });
    host = await startTestHost({ sandbox: 'process', results, worker: { concurrency: 2, pollWaitMs: 1000 } });
    const { app } = host;
    const id = await deploy(app, 'fat', FAT_PY);
    const before = rss();
    const jobs: string[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await submit(app, id, { i });
      expect(res.status).toBe(202);
      jobs.push(((await res.json()) as { job_id: string }).job_id);
    }
    for (const jobId of jobs) {
      const record = await host.nanogrid.results.get(jobId);
      if (record?.status !== 'completed') await finalOf(app, jobId);
    }
    // What the store holds: 100 small records naming their stored results, not 500 MB.
    expect(results.size()).toBe(100);
    expect(results.bytes()).toBeLessThan(100 * 2048);
    const raw = await host.nanogrid.results.get(jobs[0]!);
    expect(raw?.result).toBeUndefined();
    expect(raw?.result_key).toMatch(/^job-results\//);
    expect((await host.nanogrid.storage.list(SPILL_PREFIX)).length).toBe(100);
    // Read back whole through the API.
    const first = await finalOf(app, jobs[0]!);
    expect(first).toMatchObject({ status: 'completed', result: { i: 0 } });
    expect(((first['result'] as { blob: string }).blob ?? '').length).toBe(FIVE_MB);
    expect(first).not.toHaveProperty('result_key');
    const sync = await run(app, { function_id: id, payload: { i: 'sync' } });
    const syncBody = (await sync.json()) as { status: string; result: { blob: string; i: string } };
    expect(syncBody.status).toBe('completed');
    expect([syncBody.result.i, syncBody.result.blob.length]).toEqual(['sync', FIVE_MB]);
    console.info(
      `[store-budget] 100 x 5 MB results: test process RSS ${before} -> ${rss()} MiB, store ${results.bytes()} bytes`,
    );
  }, 240_000);

  it('queued 5 MB payloads: past the queue budget /run answers 503 QUEUE_FULL with Retry-After, and every accepted job completes', async () => {
    const queue: MemoryQueue = memoryQueue({ name: `q-${Math.random().toString(36).slice(2)}`, maxBytes: 32 * MiB });
    host = await startTestHost({ sandbox: 'process', queue, worker: { concurrency: 2, pollWaitMs: 1000 } });
    const { app } = host;
    const id = await deploy(app, 'fat', FAT_PY);
    await host.nanogrid.worker?.stop(); // nothing drains the queue while it fills
    const blob = 'p'.repeat(FIVE_MB);
    const accepted: string[] = [];
    let refusal: Response | undefined;
    for (let i = 0; i < 20 && !refusal; i++) {
      const res = await submit(app, id, { blob, i });
      if (res.status === 202) accepted.push(((await res.json()) as { job_id: string }).job_id);
      else refusal = res;
    }
    expect(refusal?.status).toBe(503);
    expect(refusal?.headers.get('retry-after')).toBe('5');
    const err = (await refusal!.json()) as ErrorJson;
    expect(err.error.code).toBe('QUEUE_FULL');
    expect(err.error.message).toContain('limits.maxQueuedBytes');
    expect(accepted.length).toBe(6); // 6 × 5 MB fit in 32 MiB, the 7th does not
    expect(queue.bytes()).toBeLessThanOrEqual(32 * MiB);
    // The host keeps serving, and nothing accepted is lost.
    expect((await app.request('/health')).status).toBe(200);
    host.nanogrid.worker?.start();
    for (const [i, jobId] of accepted.entries()) {
      expect(await finalOf(app, jobId)).toMatchObject({ status: 'completed', result: { got: FIVE_MB, i } });
    }
    expect(queue.bytes()).toBe(0);
    expect((await submit(app, id, { blob, i: 99 })).status).toBe(202);
  }, 240_000);

  it('the default SQLite store honours limits.maxQueuedBytes too (nanogrid start)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-budget-sqlite-'));
    const started = await startHost({
      config: {
        sandbox: 'process',
        hostname: '127.0.0.1',
        worker: { concurrency: 1, pollWaitMs: 1000 },
        limits: { maxPayloadBytes: MiB, maxQueuedBytes: 2 * MiB + 512 * 1024 },
      },
      port: 0,
      cwd: dir,
      logger: silentLogger,
      handleSignals: false,
    });
    try {
      expect(started.nanogrid.queue.name).toBe('sqlite-queue');
      const form = uploadForm({ file: { name: 'fat.py', content: FAT_PY }, function_name: 'fat', runtime: 'python3' });
      const up = await fetch(`${started.url}/upload`, { method: 'POST', body: form });
      const { function_id } = (await up.json()) as { function_id: string };
      await started.nanogrid.worker?.stop();
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${started.url}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-async': 'true' },
          body: JSON.stringify({ function_id, payload: { blob: 'p'.repeat(900_000), i } }),
        });
        codes.push(res.status);
        if (res.status === 503) expect(((await res.json()) as ErrorJson).error.code).toBe('QUEUE_FULL');
      }
      expect(codes).toEqual([202, 202, 503, 503]);
    } finally {
      await started.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
