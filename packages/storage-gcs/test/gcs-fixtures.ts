import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { StorageOptions } from '@google-cloud/storage';
import { gcsStorage, type GcsStorage, type GcsStorageOptions } from '../src/index.js';
import type { GcsFake } from './gcs-fake.js';

// Never let the auth library probe for a cloud metadata server from a test machine.
process.env.METADATA_SERVER_DETECTION = 'none';

/** A throwaway service account: the SDK signs V4 URLs with its key, the fake checks them. */
export function makeServiceAccount(email = `nanogrid-test@test-project.iam.gserviceaccount.com`) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    credentials: { client_email: email, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    publicKey,
  };
}

export function uniqueBucket(tag = 't'): string {
  return `ng-${tag}-${randomBytes(5).toString('hex')}`;
}

/** A gcsStorage on the fake, with its own new bucket. */
export function fakeGcsStorage(fake: GcsFake, extra: Partial<GcsStorageOptions> = {}): GcsStorage {
  const bucket = extra.bucket ?? uniqueBucket();
  fake.createBucket(bucket);
  return gcsStorage({ bucket, apiEndpoint: fake.endpoint, projectId: 'test-project', maxRetries: 0, ...extra });
}

/**
 * An OAuth2 client holding a fixed access token, from the google-auth-library copy the SDK uses
 * (pnpm does not hoist it to us): the SDK sends that token as a Bearer header.
 */
export function tokenAuthClient(token: string): StorageOptions['authClient'] {
  const fromSdk = createRequire(createRequire(import.meta.url).resolve('@google-cloud/storage'));
  const { OAuth2Client } = fromSdk('google-auth-library') as {
    OAuth2Client: new () => { setCredentials(c: { access_token: string; expiry_date: number }): void };
  };
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3600_000 });
  return client as unknown as StorageOptions['authClient'];
}
