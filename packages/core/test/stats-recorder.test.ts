import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CounterUpdate,
  type JobRecord,
  STATS_FLUSH_MS,
  StatsRecorder,
  memoryResults,
  readFunctionStats,
  silentLogger,
  statsRange,
} from '../src/index.js';
import { sampleRecord, uniqueId } from '../src/testing/index.js';

const finished = (fn: string, over: Partial<JobRecord> = {}): JobRecord =>
  sampleRecord({
    function_id: fn,
    status: 'completed',
    finished_at: new Date().toISOString(),
    execution_time_ms: 20,
    ...over,
  });

describe('StatsRecorder', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('adds jobs up in memory and writes them in one call a second later', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const results = memoryResults();
    const calls: CounterUpdate[][] = [];
    const bump = results.bumpCounters.bind(results);
    results.bumpCounters = async (updates, ttl) => {
      calls.push(updates);
      return bump(updates, ttl);
    };
    const rec = new StatsRecorder(results, silentLogger);
    const fn = uniqueId('fn');
    for (let i = 0; i < 100; i += 1)
      rec.record(finished(fn, i % 10 === 0 ? { status: 'failed', peak_memory_bytes: 1048576 * (i + 1) } : {}));
    rec.record(finished(fn, { status: 'cancelled' })); // not a finished run
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(STATS_FLUSH_MS);
    expect(calls).toHaveLength(1);
    const { totals } = await readFunctionStats(
      { readCounters: results.readCounters.bind(results) },
      fn,
      statsRange(300, 60, Date.now()),
    );
    expect(totals).toMatchObject({ invocations: 100, errors: 10, cold: 100, warm: 0, peak_memory_mb: 91 });
    await results.close();
  });

  it('keeps the counts when the store fails and writes them with the next flush; stop() writes what is left', async () => {
    const results = memoryResults();
    const bump = results.bumpCounters.bind(results);
    let down = true;
    results.bumpCounters = async (updates, ttl) => {
      if (down) throw new Error('store down');
      return bump(updates, ttl);
    };
    const rec = new StatsRecorder(results, silentLogger);
    const fn = uniqueId('fn');
    rec.record(finished(fn));
    rec.record(finished(fn));
    await rec.flush(); // fails: kept
    down = false;
    rec.record(finished(fn));
    await rec.stop();
    const read = () =>
      readFunctionStats({ readCounters: results.readCounters.bind(results) }, fn, statsRange(300, 60, Date.now()));
    expect((await read()).totals.invocations).toBe(3);
    await results.close();
  });
});
