import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNanoGridError } from '@nanogrid/core';
import { receiveUntil, sampleJob, sampleRecord } from '@nanogrid/core/testing';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, sqliteBackend, sqliteQueue, sqliteRateLimitStore, sqliteResults } from '../src/index.js';

describe('sqlite stores across a restart', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-sqlite-'));
    file = join(dir, 'data', 'nanogrid.db');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps waiting jobs, hands back the leases of a process that is gone at once, and keeps counting attempts', async () => {
    const first = sqliteBackend({ file, visibilityTimeoutMs: 600_000 });
    const jobs = [sampleJob(), sampleJob(), sampleJob()];
    for (const j of jobs) await first.queue.send(j);
    const [leased] = await first.queue.receive({ max: 1, waitMs: 0 });
    expect(leased?.job).toEqual(jobs[0]);
    // The host dies without acking (the file is closed, as the kernel does for a killed process).
    await first.queue.close();
    await first.results.close();
    await first.rateLimitStore.close?.();

    const second = sqliteBackend({ file, visibilityTimeoutMs: 600_000 });
    expect(await second.queue.depth()).toBe(3);
    const got = await receiveUntil(second.queue, 3, 2000);
    expect(got.map((d) => d.job.job_id).sort()).toEqual(jobs.map((j) => j.job_id).sort());
    expect(got.find((d) => d.job.job_id === jobs[0]!.job_id)?.attempt).toBe(2);
    // The first host's delivery went with its file handle.
    await expect(leased!.ack()).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(await second.queue.inFlight()).toBe(3);
    await Promise.all(got.map((d) => d.ack()));
    expect(await second.queue.depth()).toBe(0);
    await second.queue.close();
    await second.results.close();
    await second.rateLimitStore.close?.();
  });

  it('a stale delivery (its visibility ran out, the job was delivered again) changes nothing', async () => {
    const q = sqliteQueue({ file, visibilityTimeoutMs: 100 });
    await q.send(sampleJob());
    const [stale] = await q.receive({ max: 1, waitMs: 0 });
    const [again] = await receiveUntil(q, 1, 2000);
    expect(again?.attempt).toBe(2);
    await stale!.ack();
    await stale!.retry();
    await stale!.extend(60_000);
    expect(await q.inFlight()).toBe(1);
    await again!.ack();
    expect(await q.inFlight()).toBe(0);
    expect(await q.depth()).toBe(0);
    await q.close();
  });

  it('a job given its last delivery before the restart is dead-lettered, not run a fourth time', async () => {
    const q1 = sqliteQueue({ file, maxAttempts: 1 });
    const job = sampleJob();
    await q1.send(job);
    expect(await q1.receive({ max: 1, waitMs: 0 })).toHaveLength(1);
    await q1.close();
    const q2 = sqliteQueue({ file, maxAttempts: 1 });
    expect(await q2.receive({ max: 1, waitMs: 50 })).toEqual([]);
    expect((await q2.deadLetters()).map((d) => [d.job?.job_id, d.attempts])).toEqual([[job.job_id, 1]]);
    await q2.close();
  });

  it('records written before a restart are read back, final ones stay final, and the TTL still applies', async () => {
    const r1 = sqliteResults({ file });
    const done = sampleRecord();
    const pending = sampleRecord();
    await r1.create(done);
    await r1.create(pending);
    await r1.publish({ ...done, status: 'completed', result: { ok: 'ü' }, finished_at: new Date().toISOString() });
    await r1.close();
    const r2 = sqliteResults({ file });
    expect(await r2.get(done.job_id)).toMatchObject({ status: 'completed', result: { ok: 'ü' } });
    expect(await r2.get(pending.job_id)).toEqual(pending);
    expect(await r2.publish({ ...done, status: 'failed' })).toBe(false);
    await r2.create(done); // a duplicate submit does not undo the result
    expect(await r2.get(done.job_id)).toMatchObject({ status: 'completed' });
    expect(await r2.wait(done.job_id, { timeoutMs: 10 })).toMatchObject({ status: 'completed' });
    await r2.close();
  });

  it('rate-limit windows survive a restart and start over once they run out', async () => {
    let t = 1_000_000;
    const now = () => t;
    const s1 = sqliteRateLimitStore({ file, now });
    expect(await s1.hit('1.2.3.4', 1000)).toEqual({ count: 1, resetAt: 1_001_000 });
    expect(await s1.hit('1.2.3.4', 1000)).toEqual({ count: 2, resetAt: 1_001_000 });
    expect(await s1.hit('5.6.7.8', 1000)).toEqual({ count: 1, resetAt: 1_001_000 });
    await s1.close?.();
    const s2 = sqliteRateLimitStore({ file, now });
    t += 500;
    expect(await s2.hit('1.2.3.4', 1000)).toEqual({ count: 3, resetAt: 1_001_000 });
    t += 500;
    expect(await s2.hit('1.2.3.4', 1000)).toEqual({ count: 1, resetAt: 1_002_000 });
    await s2.close?.();
  });

  it('a second host on the same file stops with BACKEND_UNAVAILABLE naming the file, and the first keeps working', async () => {
    const q = sqliteQueue({ file });
    await q.send(sampleJob());
    let err: unknown;
    try {
      sqliteResults({ file, synchronous: 'full' });
    } catch (e) {
      err = e;
    }
    expect(isNanoGridError(err, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/another process/);
    expect(await q.depth()).toBe(1);
    await q.close();
  }, 10_000);

  it('refuses a file that is not a database, or one of a newer schema, with an actionable error', async () => {
    await writeFile(join(dir, 'garbage.db'), 'this is not sqlite'.repeat(100));
    expect(() => sqliteQueue({ file: join(dir, 'garbage.db') })).toThrow(/damaged or not a NanoGrid database/);
    const newer = join(dir, 'newer.db');
    const raw = new Database(newer);
    raw.pragma('user_version = 999');
    raw.close();
    expect(() => openSqliteDatabase({ file: newer })).toThrow(/newer NanoGrid/);
  });

  it('asks for exactly one of file / database, and a closed store answers SHUTTING_DOWN', async () => {
    expect(() => sqliteQueue({})).toThrow(/exactly one of "file"/);
    const q = sqliteQueue({ file });
    await q.close();
    await expect(q.send(sampleJob())).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(await q.receive({ max: 1, waitMs: 1000 })).toEqual([]);
    const r = sqliteResults({ file });
    await r.close();
    await expect(r.get('x')).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });

  it('hostile ids and bodies are data, never SQL', async () => {
    const q = sqliteQueue({ file });
    const r = sqliteResults({ database: undefined, file: join(dir, 'r.db') });
    const evil = "x'); DROP TABLE queue_messages; --";
    await q.sendRaw(JSON.stringify({ job_id: evil, function_id: 'f', payload: {} }));
    await q.send(sampleJob({ payload: { sql: evil, nul: 'a\u0000b' } }));
    const [d] = await q.receive({ max: 1, waitMs: 100 });
    expect(d?.job.payload).toEqual({ sql: evil, nul: 'a\u0000b' });
    await d!.ack();
    expect((await q.deadLetters())[0]?.reason).toMatch(/job_id/);
    await r.create(sampleRecord({ job_id: evil }));
    expect(await r.get(evil)).toMatchObject({ job_id: evil });
    expect(await r.get("' OR 1=1 --")).toBeUndefined();
    await q.close();
    await r.close();
  });
});
