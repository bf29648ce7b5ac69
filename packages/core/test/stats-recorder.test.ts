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
  statsUpdates,
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

  it("writes exactly what the records' statsUpdates add up to (functions, minutes, kinds, bins, memory, failures)", async () => {
    const written: CounterUpdate[][] = [];
    const sink = {
      bumpCounters: async (updates: CounterUpdate[]) => {
        written.push(updates);
      },
    };
    const rec = new StatsRecorder(sink as never, silentLogger);
    const fns = [uniqueId('fa'), uniqueId('fb'), uniqueId('fc')];
    const starts = [undefined, 'cold', 'warm', 'prewarmed'] as const;
    const statuses = ['completed', 'failed', 'cancelled'] as const;
    const records: JobRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const at = Date.UTC(2026, 0, 1, 10, i % 5 === 0 ? 59 : 0, i % 60) + (i % 7 === 0 ? 3_600_000 : 0);
      records.push(
        finished(fns[i % 3] as string, {
          status: statuses[i % 3],
          finished_at: i % 11 === 0 ? 'not a date' : new Date(at).toISOString(),
          updated_at: new Date(at).toISOString(),
          start: starts[i % 4],
          execution_time_ms: i % 13 === 0 ? undefined : i * 37,
          peak_memory_bytes: i % 4 === 0 ? undefined : (i % 9) * 1024 * 1024,
        }),
      );
    }
    for (const r of records) rec.record(r);
    await rec.flush();
    // The expected sums, built from statsUpdates the slow way.
    const expected = new Map<string, { add: Record<string, number>; max: Record<string, number> }>();
    for (const r of records)
      for (const u of statsUpdates(r)) {
        const e = expected.get(u.key) ?? { add: {}, max: {} };
        expected.set(u.key, e);
        for (const [f, n] of Object.entries(u.add ?? {})) e.add[f] = (e.add[f] ?? 0) + n;
        for (const [f, n] of Object.entries(u.max ?? {})) e.max[f] = Math.max(e.max[f] ?? n, n);
      }
    expect(written).toHaveLength(1);
    const got = new Map(written[0]?.map((u) => [u.key, { add: u.add ?? {}, max: u.max ?? {} }]));
    expect(got.size).toBeGreaterThan(10);
    expect(got).toEqual(expected);
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
