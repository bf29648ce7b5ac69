import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryQueue } from '../src/defaults/memory-queue.js';
import type { JobMessage } from '../src/job.js';
import { testQueueSource } from '../src/testing/queue-source-suite.js';

testQueueSource('memory-queue', async (o) => memoryQueue(o), {
  visibilityTimeoutMs: 200,
  slackMs: 500,
  depthSettleMs: 0,
  deadLetters: async (q) => q.deadLetters(),
  sendRaw: (q, body) => q.sendRaw(body),
  bounded: async (maxBytes) => memoryQueue({ maxBytes }),
});

const job = (id: string): JobMessage => ({ job_id: id, function_id: 'fn', payload: { id } });

describe('memoryQueue specifics (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('defaults to a 300 s visibility timeout and 3 attempts', async () => {
    vi.useFakeTimers();
    const q = memoryQueue();
    await q.send(job('a'));
    const [d1] = await q.receive({ max: 1, waitMs: 0 });
    expect(d1?.attempt).toBe(1);
    await vi.advanceTimersByTimeAsync(299_999);
    expect(await q.receive({ max: 1, waitMs: 0 })).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    const [d2] = await q.receive({ max: 1, waitMs: 0 });
    expect(d2?.attempt).toBe(2);
    await vi.advanceTimersByTimeAsync(300_000);
    const [d3] = await q.receive({ max: 1, waitMs: 0 });
    expect(d3?.attempt).toBe(3);
    await vi.advanceTimersByTimeAsync(300_000);
    expect(await q.receive({ max: 1, waitMs: 0 })).toEqual([]);
    expect(q.deadLetters()).toEqual([
      { job: job('a'), body: expect.any(String), reason: expect.stringContaining('3'), attempts: 3 },
    ]);
    await q.close();
  });

  it('a long-poll waits its full time without spinning, and wakes when a redelivery comes due', async () => {
    vi.useFakeTimers();
    const q = memoryQueue({ visibilityTimeoutMs: 1000 });
    const empty = q.receive({ max: 1, waitMs: 20_000 });
    let settled = false;
    void empty.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(19_999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await empty).toEqual([]);

    await q.send(job('b'));
    await q.receive({ max: 1, waitMs: 0 });
    const again = q.receive({ max: 1, waitMs: 20_000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect((await again).map((d) => d.attempt)).toEqual([2]);
    expect(vi.getTimerCount()).toBe(1); // only the new visibility timer
    await q.close();
  });

  it('extend() counts from now, and acked or stale deliveries cannot touch the message', async () => {
    vi.useFakeTimers();
    const q = memoryQueue({ visibilityTimeoutMs: 1000, maxAttempts: 5 });
    await q.send(job('c'));
    const [d1] = await q.receive({ max: 1, waitMs: 0 });
    await vi.advanceTimersByTimeAsync(900);
    await d1!.extend(1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(q.inFlight()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const [d2] = await q.receive({ max: 1, waitMs: 0 });
    expect(d2?.attempt).toBe(2);
    // d1 is stale now: its ack must not remove the message d2 holds.
    await d1!.ack();
    await d1!.retry();
    expect(q.inFlight()).toBe(1);
    await d2!.ack();
    await d2!.ack();
    expect(q.inFlight()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await q.close();
  });

  it('close() ends pending receives and refuses new sends', async () => {
    const q = memoryQueue();
    const pending = q.receive({ max: 1, waitMs: 60_000 });
    await q.close();
    expect(await pending).toEqual([]);
    await expect(q.send(job('d'))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(await q.receive({ max: 1, waitMs: 1000 })).toEqual([]);
  });

  it('abort removes the wait listener from the signal', async () => {
    const q = memoryQueue();
    const ac = new AbortController();
    const pending = q.receive({ max: 1, waitMs: 60_000, signal: ac.signal });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    expect(await pending).toEqual([]);
    const ac2 = new AbortController();
    const served = q.receive({ max: 1, waitMs: 60_000, signal: ac2.signal });
    await q.send(job('e'));
    expect(await served).toHaveLength(1);
    expect(getEventListeners(ac2.signal, 'abort')).toHaveLength(0);
    await q.close();
  });

  it('rejects an invalid job on send, and dead-letters raw garbage with the parse error as reason', async () => {
    const q = memoryQueue();
    await expect(q.send({ job_id: '../x', function_id: 'fn', payload: {} })).rejects.toMatchObject({
      code: 'BAD_MESSAGE',
    });
    await q.sendRaw('{"job_id": 1}');
    expect(q.deadLetters()).toEqual([
      { job: undefined, body: '{"job_id": 1}', reason: expect.stringContaining('job_id'), attempts: 0 },
    ]);
    expect(await q.depth()).toBe(0);
    await q.close();
  });

  it('a delivered job is a copy: changing it does not change a redelivery', async () => {
    vi.useFakeTimers();
    const q = memoryQueue({ visibilityTimeoutMs: 10 });
    const sent = job('f');
    await q.send(sent);
    (sent.payload as { id: string }).id = 'changed by sender';
    const [d1] = await q.receive({ max: 1, waitMs: 0 });
    (d1!.job.payload as { id: string }).id = 'changed by worker';
    await vi.advanceTimersByTimeAsync(10);
    const [d2] = await q.receive({ max: 1, waitMs: 0 });
    expect(d2!.job.payload).toEqual({ id: 'f' });
    await q.close();
  });
});
