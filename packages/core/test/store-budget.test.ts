import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { byteBudget } from '../src/defaults/byte-budget.js';
import { fsStorage } from '../src/defaults/fs-storage.js';
import { memoryQueue } from '../src/defaults/memory-queue.js';
import { memoryResults } from '../src/defaults/memory-results.js';
import { resolveEngineOptions } from '../src/engine/resolve-options.js';
import { ResultSpill, SPILL_PREFIX } from '../src/engine/result-spill.js';
import type { JobMessage } from '../src/job.js';
import { silentLogger } from '../src/logger.js';
import { fixedRecord } from '../src/testing/helpers.js';

const job = (id: string, blob = ''): JobMessage => ({ job_id: id, function_id: 'fn', payload: { blob } });
const record = fixedRecord;

afterEach(() => {
  vi.useRealTimers();
});

describe('byteBudget', () => {
  it('takes until full, then throws its code with the numbers; add() gives back', () => {
    const b = byteBudget({
      maxBytes: 100,
      code: 'QUEUE_FULL',
      what: 'x',
      plugin: 'p',
      option: 'limits.maxQueuedBytes',
    });
    b.take(60);
    expect(() => b.take(41)).toThrow(
      expect.objectContaining({ code: 'QUEUE_FULL', details: { used: 60, limit: 100, requested: 41 } }),
    );
    expect(b.used).toBe(60);
    b.add(50); // accepted data is always counted
    expect(b.used).toBe(110);
    expect(b.fits(0)).toBe(false);
    b.add(-110);
    expect(b.used).toBe(0);
  });
});

describe('memoryQueue byte accounting', () => {
  it('counts every held message until its ack, and bounds the dead letters by count and bytes', async () => {
    vi.useFakeTimers();
    const q = memoryQueue({ maxBytes: 64 * 1024, visibilityTimeoutMs: 10, maxAttempts: 1, maxDeadLetters: 2 });
    await q.send(job('a', 'x'.repeat(1000)));
    const held = q.bytes();
    expect(held).toBeGreaterThan(1000);
    const [d] = await q.receive({ max: 1, waitMs: 0 });
    expect(q.bytes()).toBe(held);
    await d!.ack();
    expect(q.bytes()).toBe(0);
    // Dead letters keep their bytes until the oldest is dropped past maxDeadLetters.
    for (const id of ['b', 'c', 'd']) {
      await q.send(job(id, 'y'.repeat(1000)));
      await q.receive({ max: 1, waitMs: 0 });
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(q.deadLetters().map((l) => l.job?.job_id)).toEqual(['c', 'd']);
    expect(q.bytes()).toBe(2 * held);
    await q.close();
  });
});

describe('memoryResults byte accounting', () => {
  it('counts each record once (replaced on update), and frees it when it expires', async () => {
    vi.useFakeTimers();
    const sink = memoryResults({ ttlSec: 10, maxBytes: 64 * 1024 });
    await sink.create(record('a'));
    const small = sink.bytes();
    await sink.update('a', { status: 'running', logs: 'z'.repeat(5000) });
    expect(sink.bytes()).toBeGreaterThan(small + 5000);
    await sink.publish(record('a', { status: 'completed', result: 1, logs: '' }));
    expect(sink.bytes()).toBeLessThan(small + 100);
    await vi.advanceTimersByTimeAsync(10_001);
    expect(await sink.get('a')).toBeUndefined();
    expect(sink.bytes()).toBe(0);
  });

  it('a full store sweeps expired records before it refuses a new job', async () => {
    vi.useFakeTimers();
    const sink = memoryResults({ ttlSec: 1, maxBytes: 20_000 });
    for (let i = 0; i < 4; i++) await sink.create(record(`old${i}`, { logs: 'o'.repeat(4000) }));
    await expect(sink.create(record('new', { logs: 'n'.repeat(4000) }))).rejects.toMatchObject({
      code: 'RESULTS_FULL',
    });
    await vi.advanceTimersByTimeAsync(2000);
    await sink.create(record('new', { logs: 'n'.repeat(4000) }));
    expect(await sink.get('new')).toMatchObject({ job_id: 'new' });
    expect(sink.size()).toBe(1);
  });
});

describe('ResultSpill', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  async function setup(limits: { resultSpillBytes?: number } = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-spill-'));
    dirs.push(dir);
    const storage = fsStorage({ dir, publicUrl: 'http://files.test' });
    const options = resolveEngineOptions({ limits, jobTtlSec: 3600 }, dir);
    return { storage, spill: new ResultSpill(storage, options, silentLogger) };
  }

  it('keeps a small result inline and stores a large one, loading it back transparently', async () => {
    const { spill, storage } = await setup({ resultSpillBytes: 1000 });
    expect(await spill.store('j1', { ok: true })).toEqual({ result: { ok: true } });
    const big = { blob: 'b'.repeat(5000), n: [1, 2] };
    const fields = await spill.store('j2', big);
    expect(fields.result).toBeUndefined();
    expect(fields.result_key).toMatch(new RegExp(`^${SPILL_PREFIX}\\d{4}-\\d{2}-\\d{2}T\\d{2}/j2\\.json$`));
    expect(fields.result_bytes).toBe(JSON.stringify(big).length);
    expect((await storage.list(SPILL_PREFIX)).map((o) => o.key)).toEqual([fields.result_key]);
    const loaded = await spill.load(record('j2', { status: 'completed', ...fields }));
    expect(loaded).toEqual(record('j2', { status: 'completed', result: big }));
  });

  it('sweeps stored results older than the job TTL + 1 h; a swept result reads as JOB_NOT_FOUND', async () => {
    const { spill, storage } = await setup({ resultSpillBytes: 10 });
    const t0 = new Date('2026-01-01T10:30:00Z');
    const old = await spill.store('old', 'x'.repeat(100), t0);
    const young = await spill.store('young', 'y'.repeat(100), new Date(t0.getTime() + 3 * 3_600_000));
    expect(await spill.sweep(t0.getTime() + 2 * 3_600_000)).toBe(0); // TTL 1 h + 1 h margin not yet over
    expect(await spill.sweep(t0.getTime() + 3 * 3_600_000)).toBe(1);
    expect((await storage.list(SPILL_PREFIX)).map((o) => o.key)).toEqual([young.result_key]);
    await expect(spill.load(record('old', { status: 'completed', ...old }))).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
  });

  it('refuses a record whose result key points outside the spill prefix', async () => {
    const { spill } = await setup();
    await expect(
      spill.load(record('x', { status: 'completed', result_key: 'functions/f/meta.json' })),
    ).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });
});

describe('budget config', () => {
  it('refuses budgets that cannot hold one largest job or record', () => {
    expect(() => resolveEngineOptions({ limits: { maxQueuedBytes: 1024 * 1024 } }, '/tmp')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { field: 'limits.maxQueuedBytes' } }),
    );
    expect(() => resolveEngineOptions({ limits: { maxStoredResultBytes: 100 * 1024 } }, '/tmp')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { field: 'limits.maxStoredResultBytes' } }),
    );
    const o = resolveEngineOptions({}, '/tmp');
    expect([o.maxQueuedBytes, o.maxStoredResultBytes, o.resultSpillBytes]).toEqual([
      128 * 1024 * 1024,
      256 * 1024 * 1024,
      64 * 1024,
    ]);
  });
});
