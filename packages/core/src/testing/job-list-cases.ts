import { expect, it } from 'vitest';
import { isNanoGridError } from '../errors.js';
import type { JobRecord } from '../job.js';
import type { ResultSink } from '../plugins/result-sink.js';
import { sampleRecord, uniqueId } from './helpers.js';

/** Records of one test's own function, created `i` seconds after a base time far in the future (no other test's jobs match `since`). */
function series(n: number, fn: string): JobRecord[] {
  const base = Date.UTC(2900, 0, 1) + Math.floor(Math.random() * 1e9) * 1000;
  return Array.from({ length: n }, (_, i) =>
    sampleRecord({ function_id: fn, created_at: new Date(base + i * 1000).toISOString() }),
  );
}

/** `ResultSink.list`: newest first, filters, cursor pages that neither skip nor repeat, cancelled is final. */
export function jobListCases(sink: () => ResultSink): void {
  it('list: newest first, filtered by function and status, paged by cursor without gaps or repeats', async () => {
    const s = sink();
    const fn = uniqueId('fn-list');
    const recs = series(7, fn);
    for (const r of recs) await s.create(r);
    // Two jobs with the same created time: the job id orders them.
    const twin = sampleRecord({ function_id: fn, created_at: recs[3]!.created_at });
    await s.create(twin);
    await s.publish({ ...recs[1]!, status: 'completed', result: 1, finished_at: recs[1]!.created_at });
    const all = [...recs, twin].sort((a, b) =>
      a.created_at === b.created_at ? (a.job_id < b.job_id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1,
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await s.list!({ function_id: fn, limit: 3, ...(cursor ? { cursor } : {}) });
      expect(res.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...res.jobs.map((j) => j.job_id));
      cursor = res.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(all.map((r) => r.job_id));
    const done = await s.list!({ function_id: fn, status: 'completed', limit: 10 });
    expect(done.jobs.map((j) => [j.job_id, j.status, j.result])).toEqual([[recs[1]!.job_id, 'completed', 1]]);
    expect(done.next_cursor).toBeUndefined();
    const other = await s.list!({ function_id: `${fn}-other`, limit: 10 });
    expect(other.jobs).toEqual([]);
  });

  it('list: since keeps newer jobs, across functions; a forged cursor is BAD_REQUEST', async () => {
    const s = sink();
    const a = series(4, uniqueId('fn-a'));
    const b = a.map((r) => sampleRecord({ function_id: uniqueId('fn-b'), created_at: r.created_at }));
    for (const r of [...a, ...b]) await s.create(r);
    const res = await s.list!({ since: a[2]!.created_at, limit: 50 });
    const ids = res.jobs.map((j) => j.job_id);
    expect(new Set(ids)).toEqual(new Set([a[2], a[3], b[2], b[3]].map((r) => r!.job_id)));
    expect(res.jobs.map((j) => j.created_at)).toEqual([...res.jobs.map((j) => j.created_at)].sort().reverse());
    const err = await s.list!({ limit: 5, cursor: 'not-a-cursor' }).catch((e: unknown) => e);
    expect(isNanoGridError(err, 'BAD_REQUEST')).toBe(true);
  });

  it('cancelled is final: a later publish or update changes nothing', async () => {
    const s = sink();
    const rec = sampleRecord();
    await s.create(rec);
    expect(await s.publish({ ...rec, status: 'cancelled', error: { code: 'CANCELLED', message: 'x' } })).toBe(true);
    expect(await s.publish({ ...rec, status: 'completed', result: 1 })).toBe(false);
    expect(await s.update(rec.job_id, { status: 'running' })).toBeUndefined();
    expect(await s.wait(rec.job_id, { timeoutMs: 1000 })).toMatchObject({ status: 'cancelled' });
  });
}
