import { describe, expect, it } from 'vitest';
import {
  STATS_TTL_MS,
  memoryResults,
  minuteOf,
  readFunctionStats,
  readStatsSummary,
  statsRange,
  statsUpdates,
} from '../src/index.js';
import { sampleRecord, uniqueId } from '../src/testing/index.js';

describe('job statistics over windows longer than an hour', () => {
  it('the functions list (hourly hashes plus the minutes at both ends) counts exactly the jobs of the window', async () => {
    const results = memoryResults();
    const now = Date.now();
    const [a, b] = [uniqueId('fa'), uniqueId('fb')];
    // One job every 7 minutes over the last 5 hours, alternating functions; every third one failed.
    const finished: { fn: string; at: number; failed: boolean }[] = [];
    for (let t = now - 5 * 3_600_000, i = 0; t <= now; t += 7 * 60_000, i++)
      finished.push({ fn: i % 2 ? a : b, at: t, failed: i % 3 === 0 });
    for (const f of finished) {
      const record = sampleRecord({
        function_id: f.fn,
        status: f.failed ? 'failed' : 'completed',
        finished_at: new Date(f.at).toISOString(),
        execution_time_ms: 10,
      });
      await results.bumpCounters(statsUpdates(record), STATS_TTL_MS);
    }
    const counters = { readCounters: results.readCounters.bind(results) };
    // Windows that start and end inside hours, on hour boundaries, and shorter than an hour.
    for (const windowS of [600, 3600, 5400, 3 * 3600 + 1200, 4 * 3600]) {
      const range = statsRange(windowS, 60, now);
      const inRange = finished.filter((f) => minuteOf(f.at) >= range.from && minuteOf(f.at) < range.to);
      const want = (fn: string) => ({
        invocations: inRange.filter((f) => f.fn === fn).length,
        errors: inRange.filter((f) => f.fn === fn && f.failed).length,
      });
      const summary = await readStatsSummary(counters, range);
      // A function without jobs in the window is absent from the summary: read it as zeros.
      const got = (fn: string) => summary.get(fn) ?? { invocations: 0, errors: 0 };
      expect({ windowS, a: got(a), b: got(b) }).toEqual({ windowS, a: want(a), b: want(b) });
      // The per-function buckets agree with the summary.
      const { totals } = await readFunctionStats(counters, a, statsRange(windowS, 60, now));
      expect(totals.invocations).toBe(want(a).invocations);
    }
    await results.close();
  });
});
