import { describe, expect, it } from 'vitest';
import { AutoscalePolicy, Autoscaler, NanoGridMetrics, memoryQueue, silentLogger } from '../src/index.js';
import type { WorkerLoop } from '../src/engine/worker-loop.js';
import { eventually, sampleJob } from '../src/testing/index.js';
import { engineEnv } from './helpers/engine-env.js';

const MIN = 60_000;

describe('AutoscalePolicy (the original numbers, a fake clock)', () => {
  it('scales out by one at ≥ 10 waiting jobs, then waits out the 300 s cooldown, never past max 5', () => {
    const p = new AutoscalePolicy();
    expect(p.desired).toBe(2);
    expect(p.decide({ queueDepth: 9, inFlight: 4, now: 0 })).toMatchObject({ desired: 2, change: 0 });
    expect(p.decide({ queueDepth: 10, inFlight: 4, now: 1000 })).toMatchObject({ desired: 3, change: 1 });
    expect(p.decide({ queueDepth: 50, inFlight: 4, now: 1000 + 299_000 })).toMatchObject({
      desired: 3,
      change: 0,
      reason: expect.stringContaining('cooldown'),
    });
    expect(p.decide({ queueDepth: 50, inFlight: 4, now: 1000 + 300_000 })).toMatchObject({ desired: 4, change: 1 });
    expect(p.decide({ queueDepth: 50, inFlight: 4, now: 1000 + 600_000 })).toMatchObject({ desired: 5, change: 1 });
    expect(p.decide({ queueDepth: 500, inFlight: 4, now: 1000 + 900_000 })).toMatchObject({
      desired: 5,
      change: 0,
      reason: expect.stringContaining('max'),
    });
  });

  it('scales in by one only after 3 minutes of an empty queue with nothing running, never under min 2', () => {
    const p = new AutoscalePolicy({ initial: 4 });
    let t = 0;
    expect(p.decide({ queueDepth: 0, inFlight: 0, now: t })).toMatchObject({ desired: 4, change: 0 });
    expect(p.decide({ queueDepth: 0, inFlight: 0, now: (t += 3 * MIN - 1) })).toMatchObject({ desired: 4, change: 0 });
    expect(p.decide({ queueDepth: 0, inFlight: 0, now: (t += 1) })).toMatchObject({ desired: 3, change: -1 });
    // Work running resets the idle clock even with an empty queue.
    expect(p.decide({ queueDepth: 0, inFlight: 1, now: (t += 5 * MIN) })).toMatchObject({ desired: 3, change: 0 });
    expect(p.decide({ queueDepth: 0, inFlight: 0, now: (t += 1) })).toMatchObject({ change: 0 });
    expect(p.decide({ queueDepth: 0, inFlight: 0, now: (t += 3 * MIN) })).toMatchObject({ desired: 2, change: -1 });
    expect(p.decide({ queueDepth: 0, inFlight: 0, now: (t += 10 * MIN) })).toMatchObject({
      desired: 2,
      change: 0,
      reason: expect.stringContaining('min'),
    });
  });

  it('refuses a min above max', () => {
    expect(() => new AutoscalePolicy({ min: 6, max: 5 })).toThrow(RangeError);
  });
});

describe('Autoscaler', () => {
  it('exports depth, in-flight and desired capacity, and drives local concurrency between base and max', async () => {
    const queue = memoryQueue();
    const env = await engineEnv({ queue, worker: { concurrency: 2 } }, false);
    try {
      const metrics = new NanoGridMetrics();
      const warmCaps: number[] = [];
      const scaler = new Autoscaler(
        queue,
        env.ng.worker,
        metrics,
        silentLogger,
        { maxConcurrency: 8, cooldownMs: 0, baseWarmCapacity: 6 },
        { setWarmCapacity: (n) => warmCaps.push(n) },
      );
      for (let i = 0; i < 12; i++) await queue.send(sampleJob());
      expect(await scaler.tick(1000)).toMatchObject({ desired: 3, change: 1 });
      expect(env.ng.worker?.concurrency).toBe(4); // 2 + (8 - 2) × (3 - 2) / (5 - 2)
      expect(warmCaps).toEqual([12]); // the warm pool grows with concurrency: 6 × 4 / 2
      const text = await metrics.text();
      expect(text).toMatch(/^nanogrid_queue_depth 12$/m);
      expect(text).toMatch(/^nanogrid_desired_workers 3$/m);
      expect(text).toMatch(/^nanogrid_worker_concurrency 4$/m);
      expect(text).toMatch(/^nanogrid_warm_capacity 12$/m);
    } finally {
      await env.close();
    }
  });

  it('counts sync calls waiting in the worker for a run slot as a backlog, like queued jobs', async () => {
    let concurrency = 2;
    const worker = {
      inFlight: 13,
      waitingInProcess: 11, // never queued: the queue itself is empty
      waiting: 0,
      get concurrency() {
        return concurrency;
      },
      setConcurrency: (n: number) => {
        concurrency = n;
      },
    } as unknown as WorkerLoop;
    const scaler = new Autoscaler(memoryQueue(), worker, new NanoGridMetrics(), silentLogger, {
      maxConcurrency: 8,
      cooldownMs: 0,
    });
    expect(await scaler.tick(1000)).toMatchObject({ desired: 3, change: 1 });
    expect(concurrency).toBe(4);
  });

  it('finished jobs show up per function: invocations by status, durations, cold/warm starts', async () => {
    const env = await engineEnv();
    try {
      const meta = await env.ng.registry.deploy({
        functionName: 'm',
        runtime: 'sh',
        fileName: 'm.sh',
        data: Buffer.from('cat\n'),
      });
      const { record } = await env.ng.jobs.submit(meta.function_id, { a: 1 });
      await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 });
      // Metrics are recorded once the delivery is acked, just after the result is published.
      const text = await eventually(async () => {
        const t = await env.ng.metrics.text();
        expect(t).toContain('nanogrid_invocations_total{');
        return t;
      }, 5000);
      expect(text).toContain(
        `nanogrid_invocations_total{function_id="${meta.function_id}",status="completed",code=""} 1`,
      );
      expect(text).toContain(`nanogrid_invocation_duration_seconds_count{function_id="${meta.function_id}"} 1`);
      expect(text).toContain(`nanogrid_starts_total{function_id="${meta.function_id}",start="cold"} 1`);
    } finally {
      await env.close();
    }
  });
});
