import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NanoGridConfig, silentLogger } from '@nanogrid/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { HELLO_PY, uploadForm } from './helpers.js';

const dirs: string[] = [];
const hosts: RunningHost[] = [];

async function start(cwd: string, config: NanoGridConfig = {}): Promise<RunningHost> {
  const host = await startHost({
    config: { sandbox: 'process', hostname: '127.0.0.1', worker: { concurrency: 2, pollWaitMs: 1000 }, ...config },
    port: 0,
    cwd,
    logger: silentLogger,
    handleSignals: false,
  });
  hosts.push(host);
  return host;
}

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-in-process-'));
  dirs.push(dir);
  return dir;
}

async function deployHello(url: string): Promise<string> {
  const up = await fetch(`${url}/upload`, {
    method: 'POST',
    body: uploadForm({ file: { name: 'hello.py', content: HELLO_PY }, function_name: 'hello', runtime: 'python3' }),
  });
  return ((await up.json()) as { function_id: string }).function_id;
}

const runSync = async (url: string, function_id: string) =>
  (await fetch(`${url}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ function_id, payload: { name: 'fast' } }),
  }).then((r) => r.json())) as { status: string; result?: unknown };

describe('sync calls on the embedded store skip the queue when the worker has room', () => {
  it('a sync POST /run is not queued by default; with embedded.syncInProcess false it is', async () => {
    for (const syncInProcess of [undefined, false]) {
      const host = await start(await tempDir(), syncInProcess === false ? { embedded: { syncInProcess } } : {});
      const fid = await deployHello(host.url);
      const send = vi.spyOn(host.nanogrid.queue, 'send');
      expect(await runSync(host.url, fid)).toMatchObject({ status: 'completed', result: { message: 'Hello, fast!' } });
      expect(send).toHaveBeenCalledTimes(syncInProcess === false ? 1 : 0);
      send.mockRestore();
    }
  }, 60_000);

  it('a job in flight that nothing queued reads failed (WORKER_LOST) after a restart, not running for ever', async () => {
    const cwd = await tempDir();
    const first = await start(cwd);
    const fid = await deployHello(first.url);
    // What a process killed during an in-process sync call leaves: a running record and no queued message.
    const now = new Date().toISOString();
    const jobId = '0f0e0d0c-0b0a-4908-8706-050403020100';
    await first.nanogrid.results.create({
      job_id: jobId,
      function_id: fid,
      status: 'running',
      created_at: now,
      updated_at: now,
      started_at: now,
      output_files: [],
    });
    await first.close();

    const second = await start(cwd);
    const status = await fetch(`${second.url}/status/${jobId}`);
    expect(await status.json()).toMatchObject({
      status: 'failed',
      error: { code: 'WORKER_LOST', message: expect.stringMatching(/did not run again/) },
    });
    // The host serves on: the function still answers.
    expect(await runSync(second.url, fid)).toMatchObject({ status: 'completed' });
  }, 60_000);
});
