import { NanoGridError, type ErrorCode } from '@nanogrid/core';

export const GCS_PLUGIN = 'gcs-storage';

interface GcsErrorLike {
  code?: number | string;
  message?: string;
  name?: string;
}

/** HTTP status of an ApiError from the SDK, when there was an HTTP answer at all. */
export function gcsStatus(err: unknown): number | undefined {
  const code = (err as GcsErrorLike | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function codeFor(err: unknown): ErrorCode {
  const status = gcsStatus(err);
  const message = (err as GcsErrorLike | undefined)?.message ?? '';
  // 401/403: bad or missing credentials or permissions; 404 on a bucket-level call: wrong bucket.
  if (status === 401 || status === 403 || status === 404 || status === 400) return 'CONFIG_INVALID';
  if (/default credentials|private key|client_email|invalid_grant|no key or keyFile/i.test(message))
    return 'CONFIG_INVALID';
  return 'BACKEND_UNAVAILABLE';
}

/** Wraps an SDK failure: the message names the backend, the bucket and the SDK's own words. */
export function gcsError(err: unknown, bucket: string, action: string, key?: string): NanoGridError {
  if (err instanceof NanoGridError) return err;
  const status = gcsStatus(err);
  const e = err as GcsErrorLike | undefined;
  const sdkCode = e?.code === undefined ? (e?.name ?? 'Error') : String(e.code);
  const detail = err instanceof Error ? err.message : String(err);
  const where = key === undefined ? `bucket "${bucket}"` : `bucket "${bucket}", object "${key}"`;
  return new NanoGridError(codeFor(err), `${GCS_PLUGIN}: ${action} failed on ${where}: ${sdkCode}: ${detail}`, {
    plugin: GCS_PLUGIN,
    // A compact cause: the SDK error drags the whole HTTP response along.
    cause: Object.assign(new Error(detail), { name: e?.name ?? 'Error' }),
    details: {
      bucket,
      action,
      sdkError: sdkCode,
      ...(status === undefined ? {} : { httpStatus: status }),
      ...(key === undefined ? {} : { key }),
    },
  });
}
