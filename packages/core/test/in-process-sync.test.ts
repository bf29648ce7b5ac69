import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobRecord } from '../src/index.js';
import { RunSlots } from '../src/engine/run-slots.js';
import { type EngineEnv, engineEnv, src } from './helpers/engine-env.js';

/** Most jobs whose [started_at, finished_at] overlap at one instant. */
function maxOverlap(jobs: JobRecord[]): number {
  const edges = jobs.flatMap((j) => [
    { t: Date.parse(String(j.started_at)), d: 1 },
    { t: Date.parse(String(j.finished_at)), d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (now += e.d));
  return max;
}

describe('RunSlots', () => {
  it('admits up to the limit, queues the rest in order, and follows a changed limit', async () => {
    const slots = new RunSlots(1);
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(false);
    const order: number[] = [];
    const waiting = [slots.take().then(() => order.push(1)), slots.take().then(() => order.push(2))];
    slots.setLimit(2); // one more at once: the first waiter goes
    await waiting[0];
    expect(order).toEqual([1]);
    slots.give();
    await waiting[1];
    expect(order).toEqual([1, 2]);
    expect(slots.inUse).toBe(2);
  });
});

describe('RunSlots: a wait given up', () => {
  it('leaves the line at the abort and never takes a slot afterwards', async () => {
    const slots = new RunSlots(1);
    expect(slots.tryTake()).toBe(true);
    const stop = new AbortController();
    const given = slots.take(stop.signal);
    const after = slots.take();
    stop.abort();
    expect(await given).toBe(false);
    slots.give(); // the slot goes to the next waiter, not to the one that gave up
    expect(await after).toBe(true);
    expect(slots.inUse).toBe(1);
    expect(await slots.take(stop.signal)).toBe(false); // already aborted, none free: no wait at all
    slots.give();
    expect(slots.inUse).toBe(0);
  });
});

describe('RunSlots: many waits on one signal', () => {
  it('listen to it once; its abort sends all of them out of the line, the others keep their places', async () => {
    const slots = new RunSlots(1);
    expect(slots.tryTake()).toBe(true);
    const stop = new AbortController();
    const other = new AbortController();
    const order: string[] = [];
    const stopping = Array.from({ length: 20 }, (_, i) =>
      slots.take(stop.signal).then((held) => order.push(`s${i}:${held}`)),
    );
    const staying = slots.take(other.signal).then((held) => order.push(`o:${held}`));
    const plain = slots.take().then((held) => order.push(`p:${held}`));
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    stop.abort();
    await Promise.all(stopping);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => `s${i}:false`));
    slots.give();
    await staying;
    slots.give();
    await plain;
    expect(order.slice(20)).toEqual(['o:true', 'p:true']);
    expect(slots.inUse).toBe(1);
  });
});

describe('sync jobs run in-process when the worker has room (process sandbox)', () => {
  let env: EngineEnv;
  beforeAll(async () => {
    env = await engineEnv({ worker: { concurrency: 2, pollWaitMs: 200 } });
    const worker = env.ng.worker;
    if (!worker) throw new Error('no worker');
    env.ng.jobs.runInProcess((job, fn) => worker.runNow(job, fn));
  });
  afterAll(async () => {
    await env?.close();
  });

  const deploy = async (name: string, script: string) =>
    (await env.ng.registry.deploy({ functionName: name, runtime: 'sh', fileName: `${name}.sh`, data: src(script) }))
      .function_id;

  it('a sync job with a free slot skips the queue; an async one is queued; both complete', async () => {
    const fid = await deploy('echo-in-process', 'cat\n');
    const send = vi.spyOn(env.ng.queue, 'send');
    try {
      const sync = await env.ng.jobs.submit(fid, { n: 1 }, 'function', { sync: true });
      expect(send).not.toHaveBeenCalled();
      expect(await env.ng.jobs.wait(sync.record.job_id, { timeoutMs: 20_000 })).toMatchObject({
        status: 'completed',
        result: { n: 1 },
        attempts: 1,
      });
      const queued = await env.ng.jobs.submit(fid, { n: 2 });
      expect(send).toHaveBeenCalledTimes(1);
      expect((await env.ng.jobs.wait(queued.record.job_id, { timeoutMs: 20_000 })).status).toBe('completed');
    } finally {
      send.mockRestore();
    }
  }, 60_000);

  it('never runs more jobs at once than the worker concurrency, sync and queued together; only async ones queue', async () => {
    const fid = await deploy('sleeper-in-process', 'sleep 0.3\necho "{}"\n');
    const send = vi.spyOn(env.ng.queue, 'send');
    try {
      const submitted = await Promise.all(
        Array.from({ length: 6 }, (_, i) => env.ng.jobs.submit(fid, { i }, 'function', { sync: i % 2 === 0 })),
      );
      const finals = await Promise.all(submitted.map((s) => env.ng.jobs.wait(s.record.job_id, { timeoutMs: 30_000 })));
      expect(finals.every((f) => f.status === 'completed')).toBe(true);
      expect(maxOverlap(finals)).toBeLessThanOrEqual(2);
      // The sync calls ran or waited for a slot in-process; the three async ones went to the queue.
      expect(send).toHaveBeenCalledTimes(3);
    } finally {
      send.mockRestore();
    }
  }, 60_000);

  it('sync calls that find no free slot wait in-process, in one line with queued jobs: an async job is not starved', async () => {
    const fid = await deploy('line-in-process', 'sleep 0.2\necho "{}"\n');
    const worker = env.ng.worker;
    if (!worker) throw new Error('no worker');
    const send = vi.spyOn(env.ng.queue, 'send');
    const sync = (i: number) => env.ng.jobs.submit(fid, { i }, 'function', { sync: true });
    try {
      const first = await Promise.all([0, 1, 2, 3].map(sync)); // two run, two wait for a slot
      expect(worker.waitingInProcess).toBe(2);
      const queued = await env.ng.jobs.submit(fid, { queued: true });
      await vi.waitFor(() => expect(worker.inFlight).toBe(5), { timeout: 5_000, interval: 5 });
      const later = await Promise.all([4, 5, 6, 7].map(sync));
      expect(send).toHaveBeenCalledTimes(1); // only the async job was queued
      const wait = (s: { record: JobRecord }) => env.ng.jobs.wait(s.record.job_id, { timeoutMs: 30_000 });
      const [firstDone, queuedDone, laterDone] = await Promise.all([
        Promise.all(first.map(wait)),
        wait(queued),
        Promise.all(later.map(wait)),
      ]);
      const all = [...firstDone, queuedDone, ...laterDone];
      expect(all.map((f) => f.status)).toEqual(Array(9).fill('completed'));
      expect(maxOverlap(all)).toBeLessThanOrEqual(2);
      // The queued job took its turn in the line, ahead of sync calls that came after it.
      const started = (f: JobRecord) => Date.parse(String(f.started_at));
      const laterStarts = laterDone.map(started).sort((a, b) => a - b);
      expect(started(queuedDone)).toBeLessThanOrEqual(laterStarts[2] ?? 0);
    } finally {
      send.mockRestore();
    }
  }, 60_000);

  it('at stop() a sync call waiting for a slot is queued at once, not after the running jobs end (a kill during the drain must not lose it), and runs once the worker starts again', async () => {
    const fid = await deploy('stop-drain-in-process', 'sleep 3\necho "{}"\n');
    const worker = env.ng.worker;
    if (!worker) throw new Error('no worker');
    const send = vi.spyOn(env.ng.queue, 'send');
    try {
      const jobs = await Promise.all([0, 1, 2].map((i) => env.ng.jobs.submit(fid, { i }, 'function', { sync: true })));
      expect(worker.waitingInProcess).toBe(1);
      const stopping = worker.stop();
      // Only the queue holds a job through a crash: the waiter must be there while the two others still run.
      await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1), { timeout: 2000, interval: 20 });
      expect(worker.waitingInProcess).toBe(0);
      const running = await Promise.all(jobs.slice(0, 2).map((j) => env.ng.jobs.status(j.record.job_id)));
      expect(running.map((r) => r.status)).toEqual(['running', 'running']);
      await stopping;
      const states = await Promise.all(jobs.map((j) => env.ng.jobs.status(j.record.job_id)));
      expect(states.map((r) => r.status)).toEqual(['completed', 'completed', 'pending']);
      worker.start();
      const last = jobs[2];
      if (!last) throw new Error('no job');
      expect((await env.ng.jobs.wait(last.record.job_id, { timeoutMs: 20_000 })).status).toBe('completed');
    } finally {
      send.mockRestore();
      worker.start();
    }
  }, 60_000);

  it('a sync call cancelled while it waits in-process for a slot never runs, and its slot goes to the next', async () => {
    const fid = await deploy('cancel-waiting-in-process', 'sleep 1\necho "{}"\n');
    const worker = env.ng.worker;
    if (!worker) throw new Error('no worker');
    const jobs = await Promise.all([0, 1, 2, 3].map((i) => env.ng.jobs.submit(fid, { i }, 'function', { sync: true })));
    expect(worker.waitingInProcess).toBe(2);
    const [a, b, waiting, next] = jobs.map((j) => j.record.job_id);
    if (!a || !b || !waiting || !next) throw new Error('no job');
    await env.ng.jobs.cancel(waiting);
    const finals = await Promise.all([a, b, waiting, next].map((id) => env.ng.jobs.wait(id, { timeoutMs: 20_000 })));
    expect(finals.map((r) => r.status)).toEqual(['completed', 'completed', 'cancelled', 'completed']);
    expect(finals[2]?.started_at).toBeUndefined();
    expect(worker.waitingInProcess).toBe(0);
  }, 60_000);

  it('a job cancelled while it runs in-process is killed, and stop() waits for in-process jobs', async () => {
    const fid = await deploy('long-in-process', 'sleep 30\necho "{}"\n');
    const { record } = await env.ng.jobs.submit(fid, {}, 'function', { sync: true });
    for (let i = 0; i < 100 && (await env.ng.jobs.status(record.job_id)).status !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 50));
    await env.ng.jobs.cancel(record.job_id);
    const final = await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 });
    expect(final.status).toBe('cancelled');
    const quick = await env.ng.jobs.submit(await deploy('quick-in-process', 'sleep 0.5\necho "{}"\n'), {}, 'function', {
      sync: true,
    });
    await env.ng.worker?.stop();
    expect((await env.ng.jobs.status(quick.record.job_id)).status).toBe('completed');
    env.ng.worker?.start();
  }, 60_000);
});
