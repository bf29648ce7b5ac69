import type { StorageOptions } from '@google-cloud/storage';

/** The two fields of a service-account key that authentication and URL signing need. */
export interface GcsServiceAccountKey {
  client_email: string;
  private_key: string;
}

export interface GcsStorageOptions {
  /** Bucket holding every object of this backend. */
  bucket: string;
  /** Object-name prefix inside the bucket. @default '' */
  prefix?: string;
  /** @default the project of the credentials */
  projectId?: string;
  /** Path of a service-account key file. @default Application Default Credentials */
  keyFilename?: string;
  /** A service-account key given inline. @default Application Default Credentials */
  credentials?: GcsServiceAccountKey;
  /** A ready auth client (workload identity federation, downscoped tokens …). @default undefined */
  authClient?: StorageOptions['authClient'];
  /**
   * JSON API endpoint of an emulator or private endpoint, e.g. `http://127.0.0.1:4443`.
   * `STORAGE_EMULATOR_HOST` is honoured when this is not set.
   * @default https://storage.googleapis.com
   */
  apiEndpoint?: string;
  /**
   * Send credentials to a custom `apiEndpoint` too. Emulators take none, so the SDK sends none
   * to a custom endpoint unless this is set. @default false
   */
  useAuthWithCustomEndpoint?: boolean;
  /**
   * Make `url()` return the object's public link instead of a V4 signed URL. Only for emulators
   * without credentials (nothing to sign with) or buckets that are public on purpose: the
   * link works only if the object is publicly readable. @default false
   */
  unsignedUrls?: boolean;
  /** Bodies of known size at or above this go through a resumable upload; streams always do. @default 5 MiB */
  resumableThreshold?: number;
  /** Resumable uploads in chunks of this many bytes (a multiple of 256 KiB); unset streams the body in one request. @default undefined */
  chunkSize?: number;
  /** Objects asked for per list page. @default 1000 */
  listPageSize?: number;
  /** Retries of a failed request (0 turns retrying off). @default 3 */
  maxRetries?: number;
}

export const GCS_DEFAULT_RESUMABLE_THRESHOLD = 5 * 1024 * 1024;
