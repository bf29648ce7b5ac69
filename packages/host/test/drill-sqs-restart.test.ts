import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NanoGrid, composeNanoGrid, fsStorage, memoryResults, silentLogger } from '@nanogrid/core';
import { sqsQueue } from '@nanogrid/queue-sqs';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SQS_CREDENTIALS, type LocalSqs, startLocalSqs } from '../../queue-sqs/src/local-server.js';
import { createController, defaultRuntimes } from '../src/index.js';
import { ECHO_PY, type Submitted, expectAllCompleted, submitJobs } from './drill-load.js';
import { deploy } from './helpers.js';

/** The local SQS server goes away (every connection cut, the port closed) for a second while jobs flow. */
describe('drill: the local SQS server restarted mid-load', () => {
  let sqs: LocalSqs;
  let dir: string;
  let ng: NanoGrid;
  let app: Hono;

  beforeAll(async () => {
    sqs = await startLocalSqs();
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-drill-sqs-'));
    ng = await composeNanoGrid(
      {
        dataDir: join(dir, 'data'),
        storage: fsStorage({ dir: join(dir, 'storage') }),
        queue: sqsQueue({
          queueName: `ng-drill-${Date.now().toString(36)}`,
          endpoint: sqs.endpoint,
          region: 'us-east-1',
          credentials: LOCAL_SQS_CREDENTIALS,
          createQueue: true,
          visibilityTimeoutSec: 3,
          waitTimeSec: 1,
          requestAttempts: 1,
        }),
        results: memoryResults(),
        sandbox: 'process',
        worker: { concurrency: 4, pollWaitMs: 1000 },
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
    await sqs?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every accepted job completes; submissions while it is gone answer 503 BACKEND_UNAVAILABLE', async () => {
    const fid = await deploy(app, 'echo', ECHO_PY);
    const out: Submitted = { accepted: new Map(), refused: new Map() };
    await submitJobs(app, fid, 0, 60, out);
    await sqs.stop();
    const down = Date.now();
    await submitJobs(app, fid, 60, 80, out);
    await new Promise((r) => setTimeout(r, 1000)); // the outage lasts a second: running jobs meet it
    await sqs.start();
    const outageMs = Date.now() - down;
    await submitJobs(app, fid, 80, 140, out, { retryForMs: 30_000 });
    const drainMs = await expectAllCompleted(app, out.accepted, 90_000);

    for (let i = 60; i < 80; i += 1) expect(out.refused.get(i)).toBe('BACKEND_UNAVAILABLE');
    for (let i = 80; i < 140; i += 1) expect(out.accepted.has(i)).toBe(true);
    console.log(
      `sqs drill: ${out.accepted.size} accepted, ${out.refused.size} refused (503) during a ${outageMs} ms outage; all accepted completed ${drainMs} ms after the last submit`,
    );
  }, 150_000);
});
