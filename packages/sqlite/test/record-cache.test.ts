import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobStatus } from '@nanogrid/core';
import { sampleRecord } from '@nanogrid/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type SqliteDatabase, openSqliteDatabase, sqliteResults } from '../src/index.js';
import { RecordCache } from '../src/record-cache.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A database whose next write is rolled back with its whole group, as SQLite does on a full disk. */
async function failingDatabase() {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-sqlite-cache-'));
  dirs.push(dir);
  const real = openSqliteDatabase({ file: join(dir, 'nanogrid.db') });
  let failNext = false;
  const database: SqliteDatabase = {
    ...real,
    get open() {
      return real.open;
    },
    write: (plugin, fn, after) =>
      real.write(
        plugin,
        failNext
          ? () => {
              failNext = false;
              fn();
              real.db.exec('ROLLBACK');
              throw new Error('database or disk is full (simulated)');
            }
          : fn,
        after,
      ),
  };
  return { database, failNextWrite: () => (failNext = true) };
}

describe('sqliteResults: records read from what it wrote last', () => {
  it('a write rolled back with its group is not what reads answer: the file is', async () => {
    const { database, failNextWrite } = await failingDatabase();
    const results = sqliteResults({ database });
    const rec = sampleRecord();
    await results.create(rec);
    await results.update(rec.job_id, { status: 'running', worker: 'w1' });
    failNextWrite();
    await expect(results.update(rec.job_id, { worker: 'w2' })).rejects.toThrow(/full/);
    expect(await results.get(rec.job_id)).toMatchObject({ status: 'running', worker: 'w1' });
    failNextWrite();
    await expect(results.publish({ ...rec, status: 'cancelled' })).rejects.toThrow(/full/);
    const heard: JobStatus[] = [];
    const stop = results.onFinal(rec.job_id, (status) => heard.push(status));
    expect(heard).toEqual([]); // still running in the file: nothing final to tell
    expect(await results.wait(rec.job_id, { timeoutMs: 0 })).toMatchObject({ status: 'running', worker: 'w1' });
    expect(await results.publish({ ...rec, status: 'completed', result: 1 })).toBe(true);
    expect(heard).toEqual(['completed']);
    stop();
    await results.close();
  });
});

describe('RecordCache', () => {
  const row = (status: JobStatus, expiresAt: number) => ({ json: '{}', status, final: false, expiresAt });

  it('keeps the newest written, forgets the oldest past its size and anything expired', () => {
    const cache = new RecordCache(3);
    for (const id of ['a', 'b', 'c']) cache.set(id, row('pending', 1000));
    cache.set('a', row('running', 1000)); // written again: now the newest
    cache.set('d', row('pending', 1000));
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)?.status).toBe('running');
    expect(cache.size).toBe(3);
    expect(cache.get('c', 1000)).toBeUndefined(); // expired at 1000
    expect(cache.size).toBe(2);
  });
});
