import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type RuntimePlugin,
  composeNanoGrid,
  isNanoGridError,
  memoryQueue,
  memoryResults,
  silentLogger,
} from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Storage } from '../src/index.js';
import { type LocalS3, localS3Storage, startLocalS3, uniqueBucket } from './s3-server.js';

const NO_RUNTIME: RuntimePlugin = {
  name: 'none',
  runtimes: ['none'],
  extensions: ['.none'],
  image: 'x',
  defaultHandler: 'a.b',
  bootstrap: {},
  protocol: 'stdout',
  entry: () => ['true'],
};

/** A host whose storage has wrong credentials does not start, and says which backend and why. */
describe('start-up check of the S3 storage (s3rver)', () => {
  let s3: LocalS3;
  let dir: string;
  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-check-'));
  });
  afterAll(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const compose = (storage: ReturnType<typeof s3Storage>, replicas: ReturnType<typeof s3Storage>[] = []) =>
    composeNanoGrid(
      {
        dataDir: dir,
        storage,
        replicas,
        queue: memoryQueue(),
        results: memoryResults(),
        sandbox: 'process',
        role: 'controller',
      },
      { runtimes: [NO_RUNTIME], cwd: dir, logger: silentLogger },
    );

  it('wrong credentials stop the start-up with CONFIG_INVALID naming the storage backend', async () => {
    const bucket = uniqueBucket('chk');
    await localS3Storage(s3, { bucket }).check(); // the bucket exists
    const wrong = s3Storage({
      bucket,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: 'wrong' },
    });
    const err = await compose(wrong).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isNanoGridError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/storage \(s3-storage\)/);
    expect((err as Error).message).toContain('InvalidAccessKeyId');
  });

  it('a replica with wrong credentials is only a warning: the host starts, its copies wait', async () => {
    const bucket = uniqueBucket('chk2');
    const good = localS3Storage(s3, { bucket });
    await good.check();
    const badReplica = s3Storage({
      bucket,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: 'wrong' },
    });
    const ng = await compose(good, [badReplica]);
    expect(ng.replicas).toHaveLength(1);
    await ng.close();
  });
});
