import { NanoGridError } from '@nanogrid/core';

/**
 * Redis replies that mean "the server is there but cannot serve right now"
 * (loading its dataset, busy script, replica without master): treated like an
 * unreachable server, so callers answer 503 and try again.
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;

/** Where a Redis connection points, for messages a person can act on. */
export interface RedisErrorContext {
  plugin: string;
  /** `redis at 127.0.0.1:6379` — never the password. */
  address: string;
}

export function unavailable(ctx: RedisErrorContext, why: string, cause?: unknown): NanoGridError {
  return new NanoGridError('BACKEND_UNAVAILABLE', `${ctx.address} is unavailable: ${why}`, {
    plugin: ctx.plugin,
    ...(cause === undefined ? {} : { cause }),
    details: { backend: 'redis', address: ctx.address },
  });
}

/**
 * Maps whatever ioredis threw to a NanoGridError: connection trouble
 * (refused, closed, offline, retries exhausted) → BACKEND_UNAVAILABLE; any
 * other reply error (WRONGTYPE, a script error …) → INTERNAL, since it is a bug
 * or a foreign key under our prefix, not an outage.
 */
export function toBackendError(ctx: RedisErrorContext, err: unknown): NanoGridError {
  if (err instanceof NanoGridError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const isReply = err instanceof Error && err.name === 'ReplyError';
  if (isReply && !TRANSIENT_REPLY.test(message)) {
    return new NanoGridError('INTERNAL', `${ctx.address} answered with an error: ${message}`, {
      plugin: ctx.plugin,
      cause: err,
    });
  }
  return unavailable(ctx, message, err);
}

/** True for the reply Redis gives when a stream's consumer group is gone (e.g. the server restarted without persistence). */
export function isNoGroup(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof NanoGridError && err.cause instanceof Error ? err.cause.message : '';
  return /NOGROUP/.test(message) || /NOGROUP/.test(cause);
}
