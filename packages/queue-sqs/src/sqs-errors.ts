import { NanoGridError, type ErrorCode } from '@nanogrid/core';

export const SQS_PLUGIN = 'sqs-queue';

/** Error names that mean the settings are wrong (credentials, permissions, queue name), not that SQS is down. */
const CONFIG_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'AccessDenied',
  'AccessDeniedException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'InvalidAddress',
  'InvalidSecurity',
]);

interface SdkErrorLike {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function sqsErrorName(err: unknown): string {
  return (err as SdkErrorLike | undefined)?.name ?? 'Error';
}

function codeFor(err: unknown): ErrorCode {
  const name = sqsErrorName(err);
  const status = (err as SdkErrorLike | undefined)?.$metadata?.httpStatusCode;
  if (CONFIG_ERRORS.has(name) || status === 401 || status === 403) return 'CONFIG_INVALID';
  if (name === 'MessageTooLong' || name === 'InvalidMessageContents') return 'PAYLOAD_TOO_LARGE';
  return 'BACKEND_UNAVAILABLE';
}

/** Wraps an SDK failure: the message names the backend, the queue and the SDK's own words. */
export function sqsError(err: unknown, queue: string, action: string): NanoGridError {
  if (err instanceof NanoGridError) return err;
  const name = sqsErrorName(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new NanoGridError(codeFor(err), `${SQS_PLUGIN}: ${action} failed on queue "${queue}": ${name}: ${detail}`, {
    plugin: SQS_PLUGIN,
    // A compact cause: the SDK error drags the whole HTTP response along.
    cause: Object.assign(new Error(detail), { name }),
    details: { queue, action, sdkError: name },
  });
}
