import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobRecord, type NanoGridError, isNanoGridError } from '../src/index.js';
import { FunctionGate } from '../src/engine/function-gate.js';
import { type EngineEnv, engineEnv, src } from './helpers/engine-env.js';

/** Most jobs whose [started_at, finished_at] overlap at one instant. */
function maxOverlap(jobs: JobRecord[]): number {
  const edges = jobs.flatMap((j) => [
    { t: Date.parse(String(j.started_at)), d: 1 },
    { t: Date.parse(String(j.finished_at)), d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d); // an end before a start at the same ms
  let now = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (now += e.d));
  return max;
}

describe('FunctionGate', () => {
  it('runs at most `limit` per function, hands slots over in arrival order, and leaves other functions alone', async () => {
    const gate = new FunctionGate();
    const order: string[] = [];
    const a1 = await gate.acquire('a', 1);
    const waiters = ['a2', 'a3'].map((n) => gate.acquire('a', 1).then((release) => (order.push(n), release)));
    const b1 = await gate.acquire('b', 1); // b is not held back by a's queue
    expect(gate.waiting).toBe(2);
    expect(gate.running('a')).toBe(1);
    a1();
    const a2 = await waiters[0]!;
    expect(order).toEqual(['a2']);
    a2();
    (await waiters[1]!)();
    b1();
    expect(order).toEqual(['a2', 'a3']);
    expect([gate.waiting, gate.running('a'), gate.running('b')]).toEqual([0, 0, 0]);
  });
});

describe('per-function concurrency through the engine (process sandbox)', () => {
  let env: EngineEnv;
  beforeAll(async () => {
    env = await engineEnv({ worker: { concurrency: 4, functionConcurrency: 0, pollWaitMs: 200 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  const deploy = async (name: string, script: string, maxConcurrency?: number) =>
    (
      await env.ng.registry.deploy({
        functionName: name,
        runtime: 'sh',
        fileName: `${name}.sh`,
        data: src(script),
        ...(maxConcurrency ? { maxConcurrency } : {}),
      })
    ).function_id;

  it('a function with max_concurrency 1 runs its jobs one at a time, while another function runs beside it', async () => {
    const slow = await deploy('one-at-a-time', 'sleep 0.4\necho "{}"\n', 1);
    const quick = await deploy('quick', 'echo \'{"quick":true}\'\n');
    const slowJobs = await Promise.all(
      [1, 2, 3, 4].map(async () => (await env.ng.jobs.submit(slow, {})).record.job_id),
    );
    const quickJob = (await env.ng.jobs.submit(quick, {})).record.job_id;
    const quickDone = await env.ng.jobs.wait(quickJob, { timeoutMs: 20_000 });
    const slowDone = await Promise.all(slowJobs.map((id) => env.ng.jobs.wait(id, { timeoutMs: 30_000 })));
    expect(slowDone.map((j) => j.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(maxOverlap(slowDone)).toBe(1);
    // Queued behind the slow function's backlog, the quick job did not wait for it to drain.
    expect(quickDone).toMatchObject({ status: 'completed', result: { quick: true } });
    expect(Date.parse(String(quickDone.finished_at))).toBeLessThan(
      Math.max(...slowDone.map((j) => Date.parse(String(j.finished_at)))),
    );
  });

  it('without a cap the same jobs overlap (the limit above is what serialised them)', async () => {
    const free = await deploy('free', 'sleep 0.4\necho "{}"\n');
    const ids = await Promise.all([1, 2, 3].map(async () => (await env.ng.jobs.submit(free, {})).record.job_id));
    const done = await Promise.all(ids.map((id) => env.ng.jobs.wait(id, { timeoutMs: 30_000 })));
    expect(maxOverlap(done)).toBeGreaterThan(1);
  });

  it('max_concurrency must be a whole number from 1: VALIDATION_FAILED naming the field', async () => {
    const err = await env.ng.registry
      .deploy({ functionName: 'bad', runtime: 'sh', fileName: 'bad.sh', data: src('echo "{}"\n'), maxConcurrency: 0 })
      .catch((e: unknown) => e);
    expect(isNanoGridError(err, 'VALIDATION_FAILED')).toBe(true);
    expect((err as NanoGridError).details).toMatchObject({ field: 'max_concurrency' });
  });
});
