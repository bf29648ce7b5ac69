import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NanoGridConfig, silentLogger } from '@nanogrid/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { HELLO_PY, uploadForm } from './helpers.js';

const dirs: string[] = [];
const hosts: RunningHost[] = [];

const base: NanoGridConfig = {
  sandbox: 'process',
  hostname: '127.0.0.1',
  worker: { concurrency: 1, pollWaitMs: 1000 },
};

async function start(cwd: string, config: NanoGridConfig = {}): Promise<RunningHost> {
  const host = await startHost({
    config: { ...base, ...config },
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
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-embedded-'));
  dirs.push(dir);
  return dir;
}

describe('the embedded store of an all-in-one host', () => {
  it('is SQLite by default: results and rate-limit windows outlive a restart on the same data directory', async () => {
    const cwd = await tempDir();
    const first = await start(cwd, { http: { rateLimit: { max: 3, windowMs: 600_000 } } });
    expect(first.nanogrid.queue.name).toBe('sqlite-queue');
    expect(first.nanogrid.results.name).toBe('sqlite-results');
    const up = await fetch(`${first.url}/upload`, {
      method: 'POST',
      body: uploadForm({ file: { name: 'hello.py', content: HELLO_PY }, function_name: 'hello', runtime: 'python3' }),
    });
    const { function_id } = (await up.json()) as { function_id: string };
    const run = await fetch(`${first.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ function_id, payload: { name: 'durable' } }),
    });
    const { job_id } = (await run.json()) as { job_id: string };
    await first.close();

    const second = await start(cwd, { http: { rateLimit: { max: 3, windowMs: 600_000 } } });
    const status = await fetch(`${second.url}/status/${job_id}`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ status: 'completed', result: { message: 'Hello, durable!' } });
    // Upload and run were counted before the restart, the status after it: a fourth request is over the limit.
    const limited = await fetch(`${second.url}/status/${job_id}`);
    expect(limited.status).toBe(429);
  }, 60_000);

  it("embedded.store 'memory' keeps the in-memory defaults (tests, benchmarks)", async () => {
    const host = await start(await tempDir(), { embedded: { store: 'memory' } });
    expect(host.nanogrid.queue.name).toBe('memory-queue');
    expect(host.nanogrid.results.name).toBe('memory-results');
  });

  it('a second host on the same data directory stops with BACKEND_UNAVAILABLE; the first keeps serving', async () => {
    const cwd = await tempDir();
    const first = await start(cwd);
    await expect(start(cwd)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/only one NanoGrid host may use a data directory/),
    });
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  }, 30_000);

  it('rejects an unknown embedded store with CONFIG_INVALID naming the field', async () => {
    await expect(start(await tempDir(), { embedded: { store: 'postgres' as 'sqlite' } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/"embedded.store" must be one of "sqlite", "memory"/),
    });
  });
});
