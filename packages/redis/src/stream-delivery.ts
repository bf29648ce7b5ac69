import { randomUUID } from 'node:crypto';
import { parseJobMessage } from '@nanogrid/core';
import type { Delivery, JobMessage } from '@nanogrid/core';
import type { RedisLink } from './connection.js';
import { ACK, DEAD_LETTER, EXTEND, RETRY } from './queue-scripts.js';

/** The Redis keys of one queue (all under the plugin's key prefix). */
export interface RedisQueueKeys {
  /** The stream of waiting and in-flight messages. */
  stream: string;
  /** Hash of leases written by `extend()` beyond the visibility timeout. */
  leases: string;
  /** Sorted set of messages retried with a delay. */
  delayed: string;
  /** Dead-letter stream. */
  dead: string;
}

/** What a delivery needs from its queue. */
export interface StreamContext {
  link: RedisLink;
  keys: RedisQueueKeys;
  group: string;
  consumer: string;
  visibilityMs: number;
  maxAttempts: number;
  deadLetterMaxLen: number;
}

/** One stream entry as read (XREADGROUP) or reclaimed (XCLAIM), with its delivery count in the group. */
export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
  deliveries: number;
}

/** Turns a flat `[field, value, …]` reply into an object. */
export function fieldMap(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

const ownerArgs = (ctx: StreamContext, e: StreamEntry) => [ctx.group, e.id, ctx.consumer, e.deliveries];

/** Moves an entry we hold to the dead-letter stream with a reason. */
export async function deadLetter(
  ctx: StreamContext,
  e: StreamEntry,
  body: string,
  reason: string,
  attempts: number,
): Promise<void> {
  const { keys } = ctx;
  await ctx.link.run((c) =>
    DEAD_LETTER.run(
      c,
      [keys.stream, keys.leases, keys.dead],
      [...ownerArgs(ctx, e), body, reason, attempts, new Date().toISOString(), ctx.deadLetterMaxLen],
    ),
  );
}

function makeDelivery(ctx: StreamContext, e: StreamEntry, job: JobMessage, body: string, attempt: number): Delivery {
  const { keys, link } = ctx;
  return {
    id: e.id,
    job,
    attempt,
    async ack() {
      await link.run((c) => ACK.run(c, [keys.stream, keys.leases], ownerArgs(ctx, e)));
    },
    async retry(delayMs = 0) {
      // This delivery was an attempt; one more would exceed the limit, so give up now.
      if (attempt >= ctx.maxAttempts) {
        const reason = `gave up after ${attempt} attempts (maxAttempts ${ctx.maxAttempts}); the last one asked for a retry`;
        return deadLetter(ctx, e, body, reason, attempt);
      }
      const delay = Math.max(0, Math.floor(delayMs));
      await link.run((c) =>
        RETRY.run(
          c,
          [keys.stream, keys.leases, keys.delayed],
          [...ownerArgs(ctx, e), body, attempt, delay, randomUUID()],
        ),
      );
    },
    async extend(ms: number) {
      const hide = Math.max(0, Math.floor(ms));
      await link.run((c) => EXTEND.run(c, [keys.stream, keys.leases], [...ownerArgs(ctx, e), hide, ctx.visibilityMs]));
    },
  };
}

/**
 * Checks each entry before it is handed out: a body that is not a valid job,
 * or one delivered more than `maxAttempts` times, goes to the dead letters with
 * a reason and is never returned.
 */
export async function toDeliveries(ctx: StreamContext, entries: StreamEntry[]): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (const e of entries) {
    // `job` is what send() writes; `body` is accepted from outside producers too.
    const body = e.fields.job ?? e.fields.body;
    const carried = Number(e.fields.attempts ?? 0);
    const attempt = (Number.isFinite(carried) && carried > 0 ? Math.floor(carried) : 0) + e.deliveries;
    if (body === undefined) {
      await deadLetter(ctx, e, JSON.stringify(e.fields), 'stream entry has no "job" field', 0);
      continue;
    }
    let job: JobMessage;
    try {
      job = parseJobMessage(body);
    } catch (err) {
      await deadLetter(ctx, e, body, err instanceof Error ? err.message : String(err), 0);
      continue;
    }
    if (attempt > ctx.maxAttempts) {
      const tries = attempt - 1;
      await deadLetter(
        ctx,
        e,
        body,
        `not acknowledged after ${tries} deliveries (maxAttempts ${ctx.maxAttempts})`,
        tries,
      );
      continue;
    }
    out.push(makeDelivery(ctx, e, job, body, attempt));
  }
  return out;
}
