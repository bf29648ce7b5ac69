import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../src/job.js';
import { InProcessLive } from '../src/live/in-process-live.js';
import type { LogLine } from '../src/plugins/result-sink.js';

const lines = (n: number, text = 'x'.repeat(84)): LogLine[] =>
  Array.from({ length: n }, (_, i) => ({ stream: 'stdout', line: `${text}${i}`, t: i }));
const record = (job_id: string, status: JobRecord['status']): JobRecord => ({
  job_id,
  function_id: 'f',
  status,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  output_files: [],
});

describe('InProcessLive: what it holds for all jobs is bounded', () => {
  it('drops the lines of ended jobs first, then new lines, never past maxTotalChars', async () => {
    const records = new Map<string, JobRecord>();
    const live = new InProcessLive(async (id) => records.get(id), { maxTotalChars: 10_000 });
    const set = (id: string, status: JobRecord['status']) => {
      records.set(id, record(id, status));
      live.jobChanged(record(id, status));
    };
    set('a', 'running');
    live.append('a', lines(60)); // ~6,000 characters with the per-line overhead
    set('a', 'completed');
    set('b', 'running');
    live.append('b', lines(60)); // does not fit beside a's: a (ended) goes
    expect(live.heldChars()).toBeLessThanOrEqual(10_000);
    const heardA: LogLine[] = [];
    await live.follow('a', (l) => heardA.push(...l), { signal: new AbortController().signal });
    expect(heardA).toEqual([]);
    set('c', 'running');
    live.append('c', lines(60)); // b still runs: nothing can go, c's lines are not kept
    expect(live.heldChars()).toBeLessThanOrEqual(10_000);
    const heardB: LogLine[] = [];
    const ac = new AbortController();
    const following = live.follow('b', (l) => heardB.push(...l), { signal: ac.signal });
    await new Promise((r) => setImmediate(r)); // the follower's first read and delivery
    expect(heardB).toHaveLength(60);
    ac.abort();
    expect(await following).toBeUndefined();
    expect(live.listeners()).toBe(0);
  });
});
