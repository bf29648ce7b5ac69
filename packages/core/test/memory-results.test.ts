import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryResults } from '../src/defaults/memory-results.js';
import { testLiveEvents } from '../src/testing/live-events-suite.js';
import { testResultSink } from '../src/testing/result-sink-suite.js';
import { fixedRecord } from '../src/testing/helpers.js';

testResultSink('memory-results', async (o) => memoryResults(o), {
  ttlSec: 1,
  slackMs: 500,
  onFinal: true,
  bounded: async (maxBytes) => memoryResults({ maxBytes }),
});

testLiveEvents('memory-results', async () => {
  const sink = memoryResults();
  return { writer: sink, reader: sink, listeners: () => sink.followers(), cleanup: () => sink.close() };
});

const record = fixedRecord;

describe('memoryResults specifics (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps a record 24 h after its last write by default', async () => {
    vi.useFakeTimers();
    const sink = memoryResults();
    await sink.create(record('a'));
    await vi.advanceTimersByTimeAsync(23 * 3600_000);
    await sink.update('a', { status: 'running' });
    await vi.advanceTimersByTimeAsync(23 * 3600_000);
    expect(await sink.get('a')).toMatchObject({ status: 'running' });
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(await sink.get('a')).toBeUndefined();
    expect(await sink.update('a', { status: 'running' })).toBeUndefined();
    expect(sink.size()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sweeps expired records on later writes, so memory does not grow', async () => {
    vi.useFakeTimers();
    const sink = memoryResults({ ttlSec: 10 });
    for (let i = 0; i < 100; i += 1) await sink.create(record(`old-${i}`));
    await vi.advanceTimersByTimeAsync(61_000);
    await sink.create(record('new'));
    expect(sink.size()).toBe(1);
  });

  it('leaves no timer or listener behind after waits end by publish, timeout or abort', async () => {
    vi.useFakeTimers();
    const sink = memoryResults();
    await sink.create(record('w'));
    const ac = new AbortController();
    const byPublish = sink.wait('w', { timeoutMs: 60_000, signal: ac.signal });
    const byTimeout = sink.wait('w', { timeoutMs: 1000 });
    const ac2 = new AbortController();
    const byAbort = sink.wait('w', { signal: ac2.signal });
    expect(sink.waiting()).toBe(3);
    ac2.abort();
    expect(await byAbort).toMatchObject({ status: 'pending' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await byTimeout).toMatchObject({ status: 'pending' });
    await sink.publish(record('w', { status: 'completed', result: 1 }));
    expect(await byPublish).toMatchObject({ status: 'completed', result: 1 });
    expect(sink.waiting()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('returns copies: a caller changing a record does not change the store', async () => {
    const sink = memoryResults();
    const rec = record('c');
    await sink.create(rec);
    rec.status = 'failed';
    const got = await sink.get('c');
    got!.output_files.push('x');
    expect(await sink.get('c')).toEqual(record('c'));
    const updated = await sink.update('c', { status: 'running', output_files: ['a'] });
    updated!.output_files.push('y');
    (updated as { worker?: string }).worker = 'changed';
    expect(await sink.get('c')).toEqual(
      record('c', { status: 'running', output_files: ['a'], updated_at: expect.any(String) }),
    );
  });

  it('onFinal listeners count as waiting until told or stopped (no leak)', async () => {
    const sink = memoryResults();
    await sink.create(record('f'));
    const stop = sink.onFinal('f', () => undefined);
    sink.onFinal('f', () => undefined);
    expect(sink.waiting()).toBe(2);
    stop();
    expect(sink.waiting()).toBe(1);
    await sink.publish(record('f', { status: 'completed' }));
    expect(sink.waiting()).toBe(0);
  });

  it('publish merges over the running record and refuses a non-final status', async () => {
    const sink = memoryResults();
    await sink.create(record('m'));
    await sink.update('m', { status: 'running', started_at: 's', worker: 'w1' });
    await expect(sink.publish(record('m', { status: 'running' }))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const { started_at: _s, ...final } = record('m', { status: 'completed', result: 2 });
    await sink.publish(final);
    expect(await sink.get('m')).toMatchObject({ status: 'completed', started_at: 's', worker: 'w1', result: 2 });
  });

  it('create does not replace a final record (late duplicate submit)', async () => {
    const sink = memoryResults();
    await sink.publish(record('d', { status: 'failed' }));
    await sink.create(record('d'));
    expect((await sink.get('d'))?.status).toBe('failed');
  });

  it('an update that sets a final status wakes waiters too', async () => {
    const sink = memoryResults();
    await sink.create(record('u'));
    const waiting = sink.wait('u');
    await sink.update('u', { status: 'failed' });
    expect(await waiting).toMatchObject({ status: 'failed' });
  });

  it('close() answers pending waiters with the latest record', async () => {
    const sink = memoryResults();
    await sink.create(record('z'));
    const waiting = sink.wait('z');
    const unknown = sink.wait('nobody');
    await sink.close();
    expect(await waiting).toMatchObject({ status: 'pending' });
    expect(await unknown).toBeUndefined();
    expect(sink.waiting()).toBe(0);
  });
});
