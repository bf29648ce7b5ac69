/** Static credentials; omit them to use the AWS default chain (env, profile, instance role …). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** @default undefined */
  sessionToken?: string;
}

export interface S3StorageOptions {
  /** Bucket holding every object of this backend. */
  bucket: string;
  /** Key prefix inside the bucket, so several deployments can share one. @default '' */
  prefix?: string;
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  region?: string;
  /** Endpoint of any S3-compatible server (MinIO, R2, s3rver …). @default AWS */
  endpoint?: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`; most S3-compatible servers need it. @default false */
  forcePathStyle?: boolean;
  /** @default the AWS default credential chain */
  credentials?: S3Credentials;
  /** Part size of multipart uploads in bytes (minimum 5 MiB). Bodies smaller than one part go in a single PUT. @default 8 MiB */
  partSize?: number;
  /** Parts uploaded at once by one multipart upload. @default 4 */
  queueSize?: number;
  /** Create the bucket on first use when it is missing (development servers). @default false */
  createBucket?: boolean;
  /**
   * When the SDK adds CRC checksums to requests. Many S3-compatible servers do not understand
   * the newer streaming checksums, so a custom `endpoint` defaults to `'when_required'`.
   * @default 'when_supported' on AWS, 'when_required' with a custom endpoint
   */
  checksums?: 'when_supported' | 'when_required';
  /** Keys asked for per ListObjectsV2 page (S3 caps it at 1000). @default 1000 */
  listPageSize?: number;
  /** Attempts of one request, retries included. @default 3 */
  maxAttempts?: number;
}

export const S3_DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
