import { execFileSync, spawnSync } from 'node:child_process';
import { open, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NanoGridConfig, silentLogger } from '@nanogrid/core';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { EMBEDDED_DB_FILE } from '../src/embedded-store.js';
import { HELLO_PY, uploadForm } from './helpers.js';

/** A small tmpfs needs root (CI runs as root); elsewhere the drill says why it cannot run. */
function canMount(): boolean {
  const ok = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  if (!ok && process.env.CI === 'true') throw new Error('the disk-full drill needs root and mount(8) with CI=true');
  if (!ok) console.warn('disk-full drill skipped: it mounts a tmpfs, which needs root');
  return ok;
}

/** Writes zeros into `file` until the file system says ENOSPC. */
async function fillDisk(file: string): Promise<number> {
  const fh = await open(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += (await fh.write(chunk)).bytesWritten;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close().catch(() => undefined);
  }
  return written;
}

/** Disk full on the embedded data directory: a clear error, nothing lost, no damaged database. */
describe.skipIf(!canMount())('drill: the embedded data directory runs out of space', () => {
  let mnt: string;
  let host: RunningHost | undefined;
  beforeAll(async () => {
    mnt = await mkdtemp(join(tmpdir(), 'nanogrid-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    await host?.close();
    spawnSync('umount', ['-l', mnt]);
    await rmdir(mnt).catch(() => rm(mnt, { recursive: true, force: true }));
  });

  it('answers 503 BACKEND_UNAVAILABLE saying the disk is full, keeps serving reads, and loses no accepted job', async () => {
    const config: NanoGridConfig = {
      sandbox: 'process',
      hostname: '127.0.0.1',
      dataDir: mnt,
      worker: { concurrency: 2, pollWaitMs: 500 },
      http: { rateLimit: false },
    };
    host = await startHost({ config, port: 0, cwd: mnt, logger: silentLogger, handleSignals: false });
    const url = host.url;
    const up = await fetch(`${url}/upload`, {
      method: 'POST',
      body: uploadForm({ file: { name: 'hello.py', content: HELLO_PY }, function_name: 'hello', runtime: 'python3' }),
    });
    expect(up.status).toBe(201);
    const { function_id } = (await up.json()) as { function_id: string };
    // Queued jobs carry 100 kB each, so the database must grow to take them.
    const runOnce = (name: string, async = false) =>
      fetch(`${url}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(async ? { 'X-Async': 'true' } : {}) },
        body: JSON.stringify({ function_id, payload: { name, ...(async ? { pad: 'x'.repeat(100_000) } : {}) } }),
      });
    const before = (await (await runOnce('before')).json()) as { job_id: string; status: string };
    expect(before.status).toBe('completed');

    const filler = join(mnt, 'filler');
    await fillDisk(filler);
    // Writes now need space the file system does not have: submissions answer 503, naming the cause.
    const accepted: string[] = [];
    let refused: { code: string; message: string } | undefined;
    for (let i = 0; i < 200 && !refused; i += 1) {
      const res = await runOnce(`full-${i}`, true);
      const body = (await res.json()) as { job_id?: string; error?: { code: string; message: string } };
      if (res.status === 202) accepted.push(body.job_id!);
      else {
        expect(res.status).toBe(503);
        refused = body.error;
      }
    }
    expect(refused?.code).toBe('BACKEND_UNAVAILABLE');
    expect(refused?.message).toMatch(/disk holding .*nanogrid\.db is full/);
    // Reads keep working, and so does the host.
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(await (await fetch(`${url}/status/${before.job_id}`)).json()).toMatchObject({ status: 'completed' });

    await rm(filler);
    const after = (await (await runOnce('after')).json()) as { status: string; result: unknown };
    expect(after).toMatchObject({ status: 'completed', result: { message: 'Hello, after!' } });
    // Every job accepted before or while the disk filled up completes once space is back.
    for (const id of accepted) {
      await expect
        .poll(async () => ((await (await fetch(`${url}/status/${id}`)).json()) as { status: string }).status, {
          timeout: 60_000,
          interval: 200,
        })
        .toBe('completed');
    }
    await host.close();
    host = undefined;

    const db = new Database(join(mnt, EMBEDDED_DB_FILE), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const row = db.prepare('SELECT record FROM job_records WHERE job_id = ?').get(before.job_id) as {
        record: string;
      };
      expect(JSON.parse(row.record)).toMatchObject({ status: 'completed' });
    } finally {
      db.close();
    }
    console.log(
      `disk-full drill: ${accepted.length} jobs accepted while the disk filled, then 503: ${refused?.message}`,
    );
  }, 180_000);
});
