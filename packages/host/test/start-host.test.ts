import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNanoGridError, memoryQueue, memoryResults, silentLogger } from '@nanogrid/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { HELLO_PY, uploadForm } from './helpers.js';

const SLOW_PY = `import time

def handler(event, context):
    time.sleep(float(event.get("seconds", 1)))
    return {"slept": event.get("seconds", 1)}
`;

const dirs: string[] = [];
const hosts: RunningHost[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-start-'));
  dirs.push(dir);
  return dir;
}

async function start(cwd: string, extra: Parameters<typeof startHost>[0] = {}): Promise<RunningHost> {
  const host = await startHost({
    config: { sandbox: 'process', hostname: '127.0.0.1', worker: { concurrency: 1, pollWaitMs: 1000 } },
    port: 0,
    cwd,
    logger: silentLogger,
    handleSignals: false,
    ...extra,
  });
  hosts.push(host);
  return host;
}

async function deploy(url: string, name: string, source: string): Promise<string> {
  const res = await fetch(`${url}/upload`, {
    method: 'POST',
    body: uploadForm({ file: { name: `${name}.py`, content: source }, function_name: name, runtime: 'python3' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { function_id: string }).function_id;
}

const runSync = (url: string, function_id: string, payload: unknown) =>
  fetch(`${url}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ function_id, payload }),
  });

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('startHost', () => {
  it('serves the API on a free port with the data under cwd, and links files through its own URL', async () => {
    const cwd = await tempDir();
    const host = await start(cwd);
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(host.port).toBeGreaterThan(0);
    expect(host.role).toBe('all');
    const id = await deploy(host.url, 'hello', HELLO_PY);
    const res = await runSync(host.url, id, { name: 'port 0' });
    expect(await res.json()).toMatchObject({ status: 'completed', result: { message: 'Hello, port 0!' } });
    // The signed links of the embedded storage point at this very server.
    expect(await host.nanogrid.storage.url('functions/x/code.zip')).toContain(`${host.url}/files/`);
  });

  it('on the embedded store, statistics outlive a restart and /system lists the running host only', async () => {
    const cwd = await tempDir();
    const first = await start(cwd);
    const id = await deploy(first.url, 'counted', HELLO_PY);
    expect((await runSync(first.url, id, { name: 'once' })).status).toBe(200);
    const firstId = ((await (await fetch(`${first.url}/system`)).json()) as { host: { id: string } }).host.id;
    await first.close(); // writes the counts it holds
    const second = await start(cwd);
    const stats = (await (await fetch(`${second.url}/functions/counted/stats?window=15m`)).json()) as {
      totals: { invocations: number };
    };
    expect(stats.totals.invocations).toBe(1);
    const system = (await (await fetch(`${second.url}/system`)).json()) as {
      host: { id: string };
      controllers: { id: string }[];
      backends: { name: string; status: string }[];
    };
    expect(system.controllers.map((h) => h.id)).toEqual([system.host.id]);
    expect(system.host.id).not.toBe(firstId);
    expect(system.backends.map((b) => b.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('over real HTTP a /run body past the limit is 413 PAYLOAD_TOO_LARGE (declared or streamed), and the host keeps serving', async () => {
    const host = await start(await tempDir(), {
      config: {
        sandbox: 'process',
        hostname: '127.0.0.1',
        worker: { concurrency: 1, pollWaitMs: 1000 },
        limits: { maxPayloadBytes: 1024 },
      },
    });
    const id = await deploy(host.url, 'hello', HELLO_PY);
    const big = JSON.stringify({ function_id: id, payload: { blob: 'x'.repeat(200_000) } });
    const declared = await fetch(`${host.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    // No content-length: the limit is counted on the bytes as they arrive.
    const stream = new Blob([big]).stream();
    const streamed = await fetch(`${host.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const ok = await runSync(host.url, id, { name: 'still here' });
    expect(await ok.json()).toMatchObject({ status: 'completed', result: { message: 'Hello, still here!' } });
  });

  it('at shutdown a running job finishes and answers; a queued one answers 202 to poll', async () => {
    const host = await start(await tempDir());
    const id = await deploy(host.url, 'slow', SLOW_PY);
    const first = runSync(host.url, id, { seconds: 1 });
    const second = runSync(host.url, id, { seconds: 1 });
    // Concurrency 1: wait until the first job runs (a condition, checked often).
    while ((host.nanogrid.worker?.inFlight ?? 0) === 0) await new Promise((r) => setTimeout(r, 20));
    await host.close();
    const answers = await Promise.all([first, second]);
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { status: string; message?: string }[];
    const byStatus = answers.map((r, i) => [r.status, bodies[i]?.status]).sort();
    expect(byStatus).toEqual([
      [200, 'completed'],
      [202, 'pending'],
    ]);
    expect(bodies.find((b) => b.status === 'pending')?.message).toMatch(/Poll GET \/status\//);
  });

  it('a worker-only process serves /health and nothing else', async () => {
    const host = await start(await tempDir(), {
      role: 'worker',
      config: { sandbox: 'process', hostname: '127.0.0.1', queue: memoryQueue(), results: memoryResults() },
    });
    expect(host.role).toBe('worker');
    expect(await (await fetch(`${host.url}/health`)).json()).toEqual({ status: 'healthy' });
    const res = await fetch(`${host.url}/functions`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('refuses an invalid config, and a split role without a shared queue', async () => {
    const cwd = await tempDir();
    const bad = await startHost({ config: { port: -1 }, cwd, logger: silentLogger, handleSignals: false }).catch(
      (e: unknown) => e,
    );
    expect(isNanoGridError(bad, 'CONFIG_INVALID')).toBe(true);
    const split = await startHost({
      config: { sandbox: 'process' },
      role: 'controller',
      port: 0,
      cwd,
      logger: silentLogger,
      handleSignals: false,
    }).catch((e: unknown) => e);
    expect(isNanoGridError(split, 'CONFIG_INVALID')).toBe(true);
  });

  it('a port already in use is reported, not thrown as a raw socket error', async () => {
    const host = await start(await tempDir());
    const clash = await start(await tempDir(), { port: host.port }).catch((e: unknown) => e);
    expect(isNanoGridError(clash, 'CONFIG_INVALID')).toBe(true);
    expect((clash as Error).message).toContain('EADDRINUSE');
  });
});
