import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NanoGrid, composeNanoGrid, silentLogger } from '@nanogrid/core';
import { s3Storage } from '@nanogrid/storage-s3';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3, S3RVER_CREDENTIALS, startLocalS3, uniqueBucket } from '../../storage-s3/test/s3-server.js';
import { createController, defaultRuntimes } from '../src/index.js';
import { type CutProxy, startCutProxy } from './cut-proxy.js';
import { type Submitted, expectAllCompleted, submitJobs } from './drill-load.js';
import { HELLO_PY, deploy, upload } from './helpers.js';

/** Takes a while and leaves an output file: a job meets the storage both before and after it runs. */
const REPORT_PY = `import os, time

def handler(event, context):
    time.sleep(0.3)
    with open(os.path.join(os.environ["OUTPUT_DIR"], "out.txt"), "w") as f:
        f.write(str(event["i"]))
    return {"i": event["i"]}
`;
const OUTAGE_MS = 30_000;

/** S3 unreachable for 30 s (connections cut, new ones refused) with jobs queued and running. */
describe('drill: S3 unreachable for 30 s', () => {
  let s3: LocalS3;
  let proxy: CutProxy;
  let dir: string;
  let ng: NanoGrid;
  let app: Hono;

  beforeAll(async () => {
    s3 = await startLocalS3();
    proxy = await startCutProxy(Number(new URL(s3.endpoint).port));
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-drill-s3-'));
    ng = await composeNanoGrid(
      {
        dataDir: join(dir, 'data'),
        storage: s3Storage({
          bucket: uniqueBucket('drill'),
          endpoint: proxy.url,
          forcePathStyle: true,
          region: 'us-east-1',
          credentials: S3RVER_CREDENTIALS,
          createBucket: true,
          maxAttempts: 1,
        }),
        sandbox: 'process',
        worker: { concurrency: 2, pollWaitMs: 500 },
      },
      { runtimes: defaultRuntimes(), cwd: dir, logger: silentLogger },
    );
    ng.registry.metaCacheMs = 0; // every job reads its function from S3, as on a worker of its own
    ng.worker?.start();
    app = createController({
      registry: ng.registry,
      jobs: ng.jobs,
      storage: ng.storage,
      logger: silentLogger,
      http: { rateLimit: false },
    });
  });
  afterAll(async () => {
    await ng?.close();
    await proxy?.close();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('queued and running jobs wait and complete, uploads answer 503 BACKEND_UNAVAILABLE, nothing is half-written', async () => {
    const fid = await deploy(app, 'report', REPORT_PY);
    const out: Submitted = { accepted: new Map(), refused: new Map() };
    await submitJobs(app, fid, 0, 24, out); // ~4 s of work for 2 slots: most are still queued at the cut
    await proxy.cut();
    const cutAt = Date.now();

    const up = await upload(app, {
      file: { name: 'hello.py', content: HELLO_PY },
      function_name: 'during',
      runtime: 'python3',
    });
    expect(up.status).toBe(503);
    expect(((await up.json()) as { error: { code: string } }).error.code).toBe('BACKEND_UNAVAILABLE');
    expect(Date.now() - cutAt).toBeLessThan(10_000); // refused at once, not hanging
    expect((await app.request('/health')).status).toBe(200);
    // No job finishes while the storage is gone (each needs its function and a place for its output).
    const completed = async () => {
      let n = 0;
      for (const id of out.accepted.values()) {
        const rec = (await (await app.request(`/status/${id}`)).json()) as { status: string };
        if (rec.status === 'completed') n += 1;
      }
      return n;
    };
    const atCut = await completed();
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - cutAt)));
    const atRestore = await completed();
    expect(atCut).toBeLessThan(24);
    expect(atRestore).toBe(atCut);
    await proxy.restore();
    const restoredAt = Date.now();

    // Every one completes once it is back, its output in the bucket.
    const drainMs = await expectAllCompleted(app, out.accepted, 90_000);
    expect(out.accepted.size).toBe(24);
    const outputs = await ng.storage.list('outputs/');
    expect(outputs.filter((o) => o.key.endsWith('/out.txt'))).toHaveLength(24);
    // The upload refused during the outage left no function behind (meta.json is written last).
    const fns = (await (await app.request('/functions')).json()) as { functions: { function_name: string }[] };
    expect(fns.functions.map((f) => f.function_name)).toEqual(['report']);
    console.log(
      `s3 drill: ${OUTAGE_MS} ms outage; ${atCut} of ${out.accepted.size} jobs done at the cut, none during it; all completed ${drainMs} ms after S3 came back (restored ${restoredAt - cutAt} ms after the cut)`,
    );
  }, 180_000);
});
