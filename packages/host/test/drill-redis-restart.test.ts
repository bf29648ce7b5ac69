import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NanoGrid, composeNanoGrid, fsStorage, silentLogger } from '@nanogrid/core';
import { redisQueue, redisResults } from '@nanogrid/redis';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, redisTestEnv, startRedisServer, uniquePrefix } from '../../redis/test/redis-server.js';
import { createController, defaultRuntimes } from '../src/index.js';
import { ECHO_PY, type Submitted, expectAllCompleted, submitJobs } from './drill-load.js';
import { deploy } from './helpers.js';

const env = redisTestEnv();

/** Redis (queue + results, AOF with fsync always) killed and restarted while jobs flow: no accepted job is lost. */
describe.skipIf(!env.ready)('drill: Redis restarted mid-load with AOF on', () => {
  let redis: LocalRedis;
  let dir: string;
  let ng: NanoGrid;
  let app: Hono;

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-drill-redis-'));
    const keyPrefix = uniquePrefix('drill');
    ng = await composeNanoGrid(
      {
        dataDir: join(dir, 'data'),
        storage: fsStorage({ dir: join(dir, 'storage') }),
        queue: redisQueue({ connection: redis.url, keyPrefix, visibilityTimeoutMs: 3000 }),
        results: redisResults({ connection: redis.url, keyPrefix }),
        sandbox: 'process',
        worker: { concurrency: 4, pollWaitMs: 500 },
      },
      { runtimes: defaultRuntimes(), cwd: dir, logger: silentLogger },
    );
    ng.worker?.start();
    app = createController({
      registry: ng.registry,
      jobs: ng.jobs,
      storage: ng.storage,
      logger: silentLogger,
      http: { rateLimit: false }, // the drill polls every job's status
    });
  });
  afterAll(async () => {
    await ng?.close();
    await redis?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every job accepted before, during or after the restart completes; refusals are 503 BACKEND_UNAVAILABLE', async () => {
    const fid = await deploy(app, 'echo', ECHO_PY);
    const out: Submitted = { accepted: new Map(), refused: new Map() };
    await submitJobs(app, fid, 0, 60, out);
    // Crash Redis while those run, keep submitting through the outage, then bring it back.
    await redis.crash();
    const down = Date.now();
    await submitJobs(app, fid, 60, 80, out);
    await new Promise((r) => setTimeout(r, 1000)); // the outage lasts a second: running jobs meet it
    await redis.start();
    const outageMs = Date.now() - down;
    await submitJobs(app, fid, 80, 140, out, { retryForMs: 30_000 }); // clients retry until it is back
    const drainMs = await expectAllCompleted(app, out.accepted, 90_000);

    expect(out.accepted.size).toBeGreaterThanOrEqual(120); // all but (at most) the ones sent while it was down
    for (let i = 80; i < 140; i += 1) expect(out.accepted.has(i)).toBe(true);
    for (const code of out.refused.values()) expect(code).toBe('BACKEND_UNAVAILABLE');
    for (let i = 60; i < 80; i += 1) expect(out.refused.get(i)).toBe('BACKEND_UNAVAILABLE');
    console.log(
      `redis drill: ${out.accepted.size} accepted, ${out.refused.size} refused (503) during a ${outageMs} ms outage; all accepted completed ${drainMs} ms after the last submit`,
    );
  }, 150_000);
});
