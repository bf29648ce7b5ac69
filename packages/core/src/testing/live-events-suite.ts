import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../job.js';
import type { LogLine, ResultSink } from '../plugins/result-sink.js';
import { eventually, sampleRecord } from './helpers.js';

/**
 * Two handles on one store: `writer` is the worker's (or the controller that
 * changes a job), `reader` another controller's. They may be the same object
 * for a store owned by one process.
 */
export interface LiveEventsFixture {
  writer: ResultSink;
  reader: ResultSink;
  /** Followers and watchers the reader holds now (leak checks). */
  listeners(): number;
  cleanup?(): Promise<void>;
}

const line = (i: number, stream: LogLine['stream'] = 'stdout'): LogLine => ({
  stream,
  line: `line ${i}`,
  t: 1_700_000_000_000 + i,
});

/** Collects what a follower hears, flattened. */
function collector(): { lines: LogLine[]; onLines: (batch: LogLine[]) => void } {
  const lines: LogLine[] = [];
  return { lines, onLines: (batch) => lines.push(...batch) };
}

/**
 * Live logs and job events of a ResultSink (`appendLogs`, `followLogs`,
 * `watchJobs`), through the interface only: a follower that comes late gets
 * the lines written so far and then the new ones, none twice and none left out,
 * then the final record; job events follow every status change.
 */
export function testLiveEvents(name: string, factory: () => Promise<LiveEventsFixture>): void {
  describe(`live logs and job events: ${name}`, () => {
    let f: LiveEventsFixture;
    let writer: ResultSink;
    let reader: ResultSink;
    beforeEach(async () => {
      f = await factory();
      ({ writer, reader } = f);
      expect(writer.appendLogs && reader.followLogs && reader.watchJobs, 'the store has live logs').toBeTruthy();
    });
    afterEach(async () => {
      await f.cleanup?.();
    });

    const running = async () => {
      const rec = sampleRecord({ status: 'pending' });
      await writer.create(rec);
      await writer.update(rec.job_id, { status: 'running' });
      return rec;
    };

    it('gives a late follower the lines so far, then the live ones, in order, none twice, then the end', async () => {
      const rec = await running();
      const total = 300;
      await writer.appendLogs!(rec.job_id, [line(0), line(1, 'stderr'), line(2)]);
      const heard = collector();
      const ac = new AbortController();
      const following = reader.followLogs!(rec.job_id, heard.onLines, { signal: ac.signal });
      // Appends race the follower's subscription: whatever the timing, no gap and no duplicate.
      for (let i = 3; i < total; i += 3) await writer.appendLogs!(rec.job_id, [line(i), line(i + 1), line(i + 2)]);
      await writer.publish({ ...rec, status: 'completed', result: { ok: 1 } });
      const end = await following;
      expect(end?.status).toBe('completed');
      expect(end?.job_id).toBe(rec.job_id);
      expect(heard.lines.map((l) => l.line)).toEqual(Array.from({ length: total }, (_, i) => `line ${i}`));
      expect(heard.lines[1]).toEqual(line(1, 'stderr'));
      expect(f.listeners()).toBe(0);
    });

    it('gives a job already final its stored lines and its record at once', async () => {
      const rec = await running();
      await writer.appendLogs!(rec.job_id, [line(0), line(1)]);
      await writer.publish({ ...rec, status: 'failed', error: { code: 'FUNCTION_ERROR', message: 'boom' } });
      const heard = collector();
      const end = await reader.followLogs!(rec.job_id, heard.onLines, { signal: new AbortController().signal });
      expect(end?.status).toBe('failed');
      expect(heard.lines.map((l) => l.line)).toEqual(['line 0', 'line 1']);
    });

    it('with live: false, gives the lines so far and the record as it is, at once', async () => {
      const rec = await running();
      await writer.appendLogs!(rec.job_id, [line(0), line(1)]);
      const heard = collector();
      const now = await reader.followLogs!(rec.job_id, heard.onLines, {
        signal: new AbortController().signal,
        live: false,
      });
      expect(now?.status).toBe('running');
      expect(heard.lines.map((l) => l.line)).toEqual(['line 0', 'line 1']);
      expect(f.listeners()).toBe(0);
      const none = collector();
      expect(
        await reader.followLogs!('job-never-created', none.onLines, {
          signal: new AbortController().signal,
          live: false,
        }),
      ).toBeUndefined();
    });

    it('answers undefined for an unknown job', async () => {
      const heard = collector();
      const end = await reader.followLogs!('job-never-created', heard.onLines, {
        signal: new AbortController().signal,
      });
      expect(end).toBeUndefined();
      expect(heard.lines).toEqual([]);
      expect(f.listeners()).toBe(0);
    });

    it('stops a follower when its signal aborts: nothing after, no listener left', async () => {
      const rec = await running();
      const heard = collector();
      const ac = new AbortController();
      const following = reader.followLogs!(rec.job_id, heard.onLines, { signal: ac.signal });
      await writer.appendLogs!(rec.job_id, [line(0)]);
      await eventually(async () => expect(heard.lines).toHaveLength(1), 5000);
      ac.abort();
      expect(await following).toBeUndefined();
      await writer.appendLogs!(rec.job_id, [line(1)]);
      await writer.publish({ ...rec, status: 'completed' });
      expect(heard.lines.map((l) => l.line)).toEqual(['line 0']);
      expect(f.listeners()).toBe(0);
    });

    it('carries any text a function prints, unchanged', async () => {
      const rec = await running();
      const hostile = [
        '\u001eNANOGRID_LOG "x"',
        'tab\there, quote " backslash \\ é ✓ 世界 \u0000 \u001b[31mred',
        '',
        'data: event: end\r',
        'x'.repeat(8192),
      ];
      await writer.appendLogs!(
        rec.job_id,
        hostile.map((text, i) => ({ stream: 'stderr', line: text, t: i })),
      );
      await writer.publish({ ...rec, status: 'completed' });
      const heard = collector();
      await reader.followLogs!(rec.job_id, heard.onLines, { signal: new AbortController().signal });
      expect(heard.lines.map((l) => l.line)).toEqual(hostile);
    });

    it('tells watchers of every status change, in order, without logs', async () => {
      const seen: JobRecord[] = [];
      const ac = new AbortController();
      await reader.watchJobs!((r) => seen.push(r), { signal: ac.signal });
      const rec = sampleRecord({ status: 'pending' });
      await writer.create(rec);
      await writer.update(rec.job_id, { status: 'running', logs: 'not in events' });
      await writer.publish({ ...rec, status: 'completed', result: { small: true }, logs: 'tail' });
      await eventually(async () => expect(seen.filter((r) => r.job_id === rec.job_id)).toHaveLength(3), 5000);
      const mine = seen.filter((r) => r.job_id === rec.job_id);
      expect(mine.map((r) => r.status)).toEqual(['pending', 'running', 'completed']);
      expect(mine[2]?.result).toEqual({ small: true });
      for (const r of mine) expect(r.logs).toBeUndefined();
      ac.abort();
      await eventually(async () => expect(f.listeners()).toBe(0), 5000);
      // A second watcher hears a later job; the stopped one does not.
      const later: JobRecord[] = [];
      const ac2 = new AbortController();
      await reader.watchJobs!((r) => later.push(r), { signal: ac2.signal });
      const other = sampleRecord({ status: 'pending' });
      await writer.create(other);
      await writer.publish({ ...other, status: 'completed' });
      await eventually(
        async () => expect(later.some((r) => r.job_id === other.job_id && r.status === 'completed')).toBe(true),
        5000,
      );
      expect(seen.some((r) => r.job_id === other.job_id)).toBe(false);
      ac2.abort();
    });

    it('leaves a large result out of job events', async () => {
      const seen: JobRecord[] = [];
      const ac = new AbortController();
      await reader.watchJobs!((r) => seen.push(r), { signal: ac.signal });
      const rec = sampleRecord({ status: 'pending' });
      await writer.create(rec);
      await writer.publish({ ...rec, status: 'completed', result: { big: 'x'.repeat(64 * 1024) } });
      await eventually(async () => expect(seen.filter((r) => r.status === 'completed')).toHaveLength(1), 5000);
      const done = seen.find((r) => r.job_id === rec.job_id && r.status === 'completed');
      expect(done?.result).toBeUndefined();
      expect((await reader.get(rec.job_id))?.result).toEqual({ big: 'x'.repeat(64 * 1024) });
      ac.abort();
    });
  });
}
