import { testStorageBackend } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { localS3Storage, startLocalS3, type LocalS3 } from './s3-server.js';

describe('s3Storage conformance (real s3rver)', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startLocalS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  // A small part size so the suite's 20 MiB object goes through a real multipart upload.
  // s3rver writes an object in place, so concurrent puts of one key may interleave there (S3 does not).
  testStorageBackend(
    's3Storage',
    async () => localS3Storage(s3, { prefix: 'conformance', partSize: 5 * 1024 * 1024 }),
    { atomicPuts: false },
  );
});
