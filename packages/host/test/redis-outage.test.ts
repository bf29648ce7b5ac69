import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NanoGrid, composeNanoGrid, fsStorage, silentLogger } from '@nanogrid/core';
import { redisQueue, redisResults } from '@nanogrid/redis';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, redisTestEnv, startRedisServer, uniquePrefix } from '../../redis/test/redis-server.js';
import { createController, defaultRuntimes } from '../src/index.js';
import { HELLO_PY, deploy, run } from './helpers.js';

const env = redisTestEnv();

/** A controller on Redis (queue + results) while Redis goes away and comes back. */
describe.skipIf(!env.ready)('controller with Redis down', () => {
  let redis: LocalRedis;
  let dir: string;
  let ng: NanoGrid;
  let app: Hono;
  let fid: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-outage-'));
    const keyPrefix = `${uniquePrefix('outage')}:`;
    ng = await composeNanoGrid(
      {
        dataDir: join(dir, 'data'),
        storage: fsStorage({ dir: join(dir, 'storage') }),
        queue: redisQueue({ connection: redis.url, keyPrefix }),
        results: redisResults({ connection: redis.url, keyPrefix }),
        sandbox: 'process',
        worker: { concurrency: 2, pollWaitMs: 500 },
      },
      { runtimes: defaultRuntimes(), cwd: dir, logger: silentLogger },
    );
    ng.worker?.start();
    app = createController({ registry: ng.registry, jobs: ng.jobs, storage: ng.storage, logger: silentLogger });
    fid = await deploy(app, 'hello', HELLO_PY);
  });
  afterAll(async () => {
    await ng?.close();
    await redis?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 BACKEND_UNAVAILABLE while Redis is down, keeps serving, and recovers when it returns', async () => {
    expect((await run(app, { function_id: fid, payload: { name: 'before' } })).status).toBe(200);
    await redis.stop();
    const started = Date.now();
    const runRes = await run(app, { function_id: fid, payload: { name: 'during' } });
    expect(runRes.status).toBe(503);
    expect(((await runRes.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
    const statusRes = await app.request('/status/some-job');
    expect(statusRes.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(10_000); // fails fast, no hanging request
    expect((await app.request('/health')).status).toBe(200);
    expect((await app.request('/functions')).status).toBe(200); // storage is not Redis

    await redis.start();
    const back = await (async () => {
      for (let i = 0; i < 100; i++) {
        const res = await run(app, { function_id: fid, payload: { name: 'after' } });
        if (res.status !== 503) return res;
        await new Promise((r) => setTimeout(r, 200)); // ioredis reconnects on its own backoff
      }
      throw new Error('the controller did not recover within 20 s of Redis coming back');
    })();
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ status: 'completed', result: { message: 'Hello, after!' } });
  }, 60_000);
});
