import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleJob, sampleRecord } from '@nanogrid/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteBackend } from '../src/index.js';

describe('sqliteBackend.failOrphans: jobs in flight that nothing queued', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-orphans-'));
    file = join(dir, 'nanogrid.db');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails a running record without a message (WORKER_LOST), keeps queued and final ones, survives raw messages', async () => {
    const first = sqliteBackend({ file });
    const inProcess = sampleRecord({ status: 'running', started_at: new Date().toISOString() });
    const queued = sampleRecord();
    const done = sampleRecord({ status: 'completed', result: { ok: true } });
    await first.results.create(inProcess);
    await first.results.create(queued);
    await first.results.create(done);
    await first.queue.send(sampleJob({ job_id: queued.job_id }));
    // Bodies a foreign producer queued: not JSON, and JSON without a job id. They must not hide the orphan.
    await first.queue.sendRaw('not json at all');
    await first.queue.sendRaw({ hello: 'world' });
    // The process stops (killed) with the in-process job running.
    await first.queue.close();
    await first.results.close();
    await first.rateLimitStore.close?.();

    const second = sqliteBackend({ file });
    try {
      expect(await second.failOrphans()).toBe(1);
      expect(await second.results.get(inProcess.job_id)).toMatchObject({
        status: 'failed',
        error: { code: 'WORKER_LOST', message: expect.stringMatching(/did not run again/) },
        finished_at: expect.any(String),
      });
      expect((await second.results.get(queued.job_id))?.status).toBe('pending');
      expect((await second.results.get(done.job_id))?.status).toBe('completed');
      // A second look finds nothing more: the failed record is final.
      expect(await second.failOrphans()).toBe(0);
    } finally {
      await second.queue.close();
      await second.results.close();
      await second.rateLimitStore.close?.();
    }
  });
});
