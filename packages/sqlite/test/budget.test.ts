import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleJob, sampleRecord } from '@nanogrid/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sqliteQueue, sqliteResults } from '../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function dbFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-sqlite-budget-'));
  dirs.push(dir);
  return join(dir, 'nanogrid.db');
}

describe('sqlite byte budgets across a restart', () => {
  it('the queue counts what the file already holds when it opens', async () => {
    const file = await dbFile();
    const first = sqliteQueue({ file, maxBytes: 1024 * 1024 });
    for (let i = 0; i < 5; i++) await first.send(sampleJob({ payload: { blob: 'q'.repeat(100_000) } }));
    const held = first.bytes();
    expect(held).toBeGreaterThan(500_000);
    await first.close();
    const again = sqliteQueue({ file, maxBytes: 1024 * 1024 });
    expect(again.bytes()).toBe(held);
    let sent = 0;
    const refused = await (async () => {
      for (;;) {
        try {
          await again.send(sampleJob({ payload: { blob: 'q'.repeat(100_000) } }));
          sent++;
        } catch (err) {
          return err;
        }
      }
    })();
    expect(refused).toMatchObject({ code: 'QUEUE_FULL' });
    expect(sent).toBeLessThan(6); // the first five still count
    const got = await again.receive({ max: 100, waitMs: 0 });
    expect(got).toHaveLength(5 + sent);
    for (const d of got) await d.ack();
    expect(again.bytes()).toBe(0);
    await again.close();
  });

  it('the result store counts the records in the file when it opens', async () => {
    const file = await dbFile();
    const first = sqliteResults({ file, maxBytes: 512 * 1024 });
    await first.create(sampleRecord({ logs: 'r'.repeat(200_000) }));
    const held = first.bytes();
    await first.close();
    const again = sqliteResults({ file, maxBytes: 512 * 1024 });
    expect(again.bytes()).toBe(held);
    await again.create(sampleRecord({ logs: 'r'.repeat(200_000) }));
    await expect(again.create(sampleRecord({ logs: 'r'.repeat(200_000) }))).rejects.toMatchObject({
      code: 'RESULTS_FULL',
    });
    await again.close();
  });

  it('a job created again over its expired, unswept row counts its bytes once, and a final one stays final', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const results = sqliteResults({ file: await dbFile(), ttlSec: 60 });
      const record = sampleRecord({ logs: 'e'.repeat(10_000) });
      await results.create(record);
      const one = results.bytes();
      await results.create(record); // a duplicate of a live record replaces it: still counted once
      expect(results.bytes()).toBe(one);
      vi.setSystemTime(Date.now() + 61_000); // expired, not swept yet (sweeps run once a minute on writes)
      expect(await results.get(record.job_id)).toBeUndefined();
      await results.create({ ...record, logs: 'f'.repeat(20_000) });
      expect(results.bytes()).toBe(one + 10_000);
      expect((await results.get(record.job_id))?.logs).toBe('f'.repeat(20_000));
      expect(await results.publish({ ...record, status: 'completed', result: 1 })).toBe(true);
      await results.create(record); // a late duplicate submit cannot undo a result
      expect((await results.get(record.job_id))?.status).toBe('completed');
      expect(await results.wait(record.job_id, { timeoutMs: 0 })).toMatchObject({ status: 'completed', result: 1 });
      await results.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
