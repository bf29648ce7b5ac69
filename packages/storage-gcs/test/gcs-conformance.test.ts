import { testStorageBackend } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcsStorage } from '../src/index.js';
import { startGcsFake, type GcsFake } from './gcs-fake.js';
import { fakeGcsStorage, makeServiceAccount } from './gcs-fixtures.js';

describe('gcsStorage conformance (GCS JSON-API fake, real SDK)', () => {
  const account = makeServiceAccount();
  let fake: GcsFake;
  beforeAll(async () => {
    fake = await startGcsFake({ signers: { [account.credentials.client_email]: account.publicKey } });
  });
  afterAll(async () => {
    await fake?.stop();
  });

  testStorageBackend('gcsStorage (fake)', async () =>
    fakeGcsStorage(fake, { prefix: 'conformance', credentials: account.credentials }),
  );
});

/**
 * Against a real bucket, only when one is configured: GCS is an outside service this machine
 * (and CI) cannot reach, so without these variables the suite is simply not registered.
 *   GCS_TEST_BUCKET        bucket the tests may write to (objects go under a random prefix)
 *   GCS_TEST_KEY_FILE      service-account key (else Application Default Credentials)
 *   GCS_TEST_PROJECT       optional project id
 */
const realBucket = process.env.GCS_TEST_BUCKET;
if (realBucket) {
  const real = () =>
    gcsStorage({
      bucket: realBucket,
      prefix: `nanogrid-tests/${Date.now()}`,
      ...(process.env.GCS_TEST_KEY_FILE ? { keyFilename: process.env.GCS_TEST_KEY_FILE } : {}),
      ...(process.env.GCS_TEST_PROJECT ? { projectId: process.env.GCS_TEST_PROJECT } : {}),
    });
  describe('gcsStorage on a real GCS bucket', () => {
    it('check() passes with the configured credentials', async () => {
      await expect(real().check()).resolves.toBeUndefined();
    });
    testStorageBackend('gcsStorage (real)', async () => real());
  });
}
