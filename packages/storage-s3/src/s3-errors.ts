import { NanoGridError, type ErrorCode } from '@nanogrid/core';

export const S3_PLUGIN = 's3-storage';

/** SDK error names that mean "these credentials may not do this" — a configuration problem, not an outage. */
const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
  'AccountProblem',
  'Forbidden',
]);

interface SdkErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function sdkStatus(err: unknown): number | undefined {
  return (err as SdkErrorLike | undefined)?.$metadata?.httpStatusCode;
}

export function sdkName(err: unknown): string {
  const e = err as SdkErrorLike | undefined;
  return e?.name ?? e?.code ?? 'Error';
}

/** True for "the object (or bucket) is not there" answers. */
export function isS3NotFound(err: unknown): boolean {
  const name = sdkName(err);
  return name === 'NoSuchKey' || name === 'NotFound' || (sdkStatus(err) === 404 && name !== 'NoSuchBucket');
}

function codeFor(err: unknown): ErrorCode {
  const name = sdkName(err);
  const status = sdkStatus(err);
  if (CREDENTIAL_ERRORS.has(name) || status === 401 || status === 403) return 'CONFIG_INVALID';
  if (name === 'NoSuchBucket' || name === 'InvalidBucketName' || name === 'PermanentRedirect') return 'CONFIG_INVALID';
  return 'BACKEND_UNAVAILABLE';
}

/**
 * Wraps an SDK failure in a NanoGridError whose message names the backend, the bucket and
 * the SDK's own words, so a wrong key or bucket is obvious from one log line.
 */
export function s3Error(err: unknown, bucket: string, action: string, key?: string): NanoGridError {
  if (err instanceof NanoGridError) return err;
  const name = sdkName(err);
  const status = sdkStatus(err);
  const detail = err instanceof Error ? err.message : String(err);
  const where = key === undefined ? `bucket "${bucket}"` : `bucket "${bucket}", key "${key}"`;
  return new NanoGridError(
    codeFor(err),
    `${S3_PLUGIN}: ${action} failed on ${where}: ${name}: ${detail || `HTTP ${status ?? '?'}`}`,
    {
      plugin: S3_PLUGIN,
      // A compact cause: the SDK error drags the whole HTTP response along.
      cause: Object.assign(new Error(detail), { name }),
      details: {
        bucket,
        action,
        sdkError: name,
        ...(status === undefined ? {} : { httpStatus: status }),
        ...(key === undefined ? {} : { key }),
      },
    },
  );
}
