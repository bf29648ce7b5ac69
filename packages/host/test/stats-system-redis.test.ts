import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionStats, StatsSummary, SystemInfo } from '@nanogrid/client';
import { HostPresence, type NanoGridConfig, fsStorage, silentLogger } from '@nanogrid/core';
import { eventually } from '@nanogrid/core/testing';
import { redisQueue, redisResults } from '@nanogrid/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, redisTestEnv, startRedisServer, uniquePrefix } from '../../redis/test/redis-server.js';
import { type ErrorJson, FAIL_PY, HELLO_PY, type TestHost, deploy, run, startTestHost } from './helpers.js';

const env = redisTestEnv();

async function get<T>(host: TestHost, path: string): Promise<{ status: number; body: T }> {
  const res = await host.app.request(path);
  return { status: res.status, body: (await res.json()) as T };
}

const ids = (hosts: { id: string }[]) => hosts.map((h) => h.id).sort();

/**
 * Two controllers and a worker, each composed on its own Redis connections (queue + results) and
 * one storage: every controller shows the same hosts and the same statistics, whichever ran the job,
 * and a controller started later (a restart) reads the numbers the others wrote.
 */
describe.skipIf(!env.ready)('statistics and system view across controllers (Redis)', () => {
  let redis: LocalRedis;
  let dir: string;
  let a: TestHost;
  let b: TestHost;
  let worker: TestHost;
  const opened: TestHost[] = [];

  const start = async (role: 'controller' | 'worker', keyPrefix: string): Promise<TestHost> => {
    const config: Partial<NanoGridConfig> & { sandbox: 'process' } = {
      role,
      sandbox: 'process',
      queue: redisQueue({ connection: redis.url, keyPrefix }),
      results: redisResults({ connection: redis.url, keyPrefix }),
      storage: fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
      worker: { concurrency: 2, pollWaitMs: 200 },
      presence: { intervalMs: 150 },
    };
    const host = await startTestHost(config);
    opened.push(host);
    await host.telemetry.presence.start();
    return host;
  };

  let prefix: string;
  beforeAll(async () => {
    redis = await startRedisServer();
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-stats-redis-'));
    prefix = `${uniquePrefix('stats')}:`;
    [a, b, worker] = await Promise.all([
      start('controller', prefix),
      start('controller', prefix),
      start('worker', prefix),
    ]);
    await deploy(a.app, 'dist-ok', HELLO_PY);
    await deploy(b.app, 'dist-fail', FAIL_PY);
  });
  afterAll(async () => {
    for (const h of opened) await h.close().catch(() => undefined);
    await redis?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('both controllers list both controllers and the worker', async () => {
    await eventually(async () => {
      for (const c of [a, b]) {
        const { status, body } = await get<SystemInfo>(c, '/system');
        expect(status).toBe(200);
        expect(ids(body.controllers)).toEqual(
          ids([a.telemetry.system, b.telemetry.system].map((s) => ({ id: s.hostId }))),
        );
        expect(ids(body.workers)).toEqual([worker.telemetry.system.hostId]);
        // The controllers run no code: the view shows the workers' sandbox.
        expect(body.sandbox).toMatchObject({ name: 'process', status: 'ok' });
        expect(body.workers[0]).toMatchObject({ role: 'worker', sandbox: { name: 'process' }, concurrency: 2 });
        expect(body.backends.find((x) => x.role === 'results')).toMatchObject({ name: 'redis-results', status: 'ok' });
        expect(body.queue.depth).toBe(0);
      }
    }, 5000);
  });

  it('runs through either controller are counted once, and both answer the same numbers', async () => {
    for (let i = 0; i < 2; i += 1)
      expect((await run(a.app, { function: 'dist-ok', payload: { name: `a${i}` } })).status).toBe(200);
    for (let i = 0; i < 3; i += 1)
      expect((await run(b.app, { function: 'dist-ok', payload: { name: `b${i}` } })).status).toBe(200);
    expect((await run(b.app, { function: 'dist-fail' })).status).toBe(500);
    // A sync answer can come before the worker has counted the job: wait until it is done, then write now.
    await eventually(async () => expect(worker.nanogrid.worker?.inFlight).toBe(0), 5000);
    await worker.nanogrid.stats.flush();
    const fromA = await get<FunctionStats>(a, '/functions/dist-ok/stats?window=30m&step=120');
    const fromB = await get<FunctionStats>(b, '/functions/dist-ok/stats?window=30m&step=120');
    expect(fromA.status).toBe(200);
    expect(fromA.body.totals).toMatchObject({ invocations: 5, errors: 0 });
    expect(fromA.body.totals.cold + fromA.body.totals.warm).toBe(5);
    expect(fromB.body).toEqual(fromA.body);
    const sumA = await get<StatsSummary>(a, '/stats/functions');
    const sumB = await get<StatsSummary>(b, '/stats/functions');
    expect(sumB.body).toEqual(sumA.body);
    const by = Object.fromEntries(sumA.body.functions.map((f) => [f.name, [f.invocations, f.errors]]));
    expect(by).toEqual({ 'dist-ok': [5, 0], 'dist-fail': [1, 1] });
  });

  it('a restarted controller reads the same numbers; the stopped one drops out of the host list', async () => {
    const before = await get<FunctionStats>(b, '/functions/dist-ok/stats?window=30m&step=120');
    const goneId = a.telemetry.system.hostId;
    await a.close();
    const a2 = await start('controller', prefix);
    const after = await get<FunctionStats>(a2, '/functions/dist-ok/stats?window=30m&step=120');
    expect(after.body.totals).toEqual(before.body.totals);
    // A graceful stop leaves the list at once; the new one is there after its first beat.
    await a2.telemetry.presence.beat();
    const { body } = await get<SystemInfo>(b, '/system');
    expect(ids(body.controllers)).toEqual(ids([{ id: a2.telemetry.system.hostId }, { id: b.telemetry.system.hostId }]));
    expect(ids(body.controllers)).not.toContain(goneId);
  });

  it('a host that stops beating without a goodbye (crash, hang) drops out after 3 missed heartbeats', async () => {
    const results = redisResults({ connection: redis.url, keyPrefix: prefix });
    // Beats once by hand and never again: what a killed process leaves behind.
    const ghost = new HostPresence(
      results,
      () => ({
        id: 'ghost-worker/000000',
        role: 'worker' as const,
        hostname: 'gone',
        pid: 1,
        started_at: new Date().toISOString(),
        version: '0.0.0',
        sandbox: { name: 'process', isolated: true, status: 'ok' as const },
      }),
      silentLogger,
      { intervalMs: 200 },
    );
    await ghost.beat();
    const started = Date.now();
    const seen = await get<SystemInfo>(b, '/system');
    expect(ids(seen.body.workers)).toContain('ghost-worker/000000');
    await eventually(async () => {
      const { body } = await get<SystemInfo>(b, '/system');
      expect(ids(body.workers)).toEqual([worker.telemetry.system.hostId]);
    }, 5000);
    // Gone after its TTL (3 × 200 ms), not before.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    await results.close();
  });

  it('with Redis down, /system still answers (results failing) and stats are 503; both recover', async () => {
    await redis.stop();
    try {
      const sys = await get<SystemInfo>(b, '/system');
      expect(sys.status).toBe(200);
      expect(sys.body.presence).toBe('failing');
      expect(sys.body.queue.depth).toBeNull();
      expect(sys.body.backends.find((x) => x.role === 'results')).toMatchObject({ status: 'failing' });
      expect(sys.body.backends.find((x) => x.role === 'storage')).toMatchObject({ status: 'ok' });
      const stats = await get<ErrorJson>(b, '/functions/dist-ok/stats');
      expect([stats.status, stats.body.error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
    } finally {
      await redis.start();
    }
    await eventually(async () => {
      const stats = await get<FunctionStats>(b, '/functions/dist-ok/stats');
      expect(stats.status).toBe(200);
      const sys = await get<SystemInfo>(b, '/system');
      expect(sys.body.backends.every((x) => x.status !== 'failing')).toBe(true);
    }, 10_000);
  });
});
