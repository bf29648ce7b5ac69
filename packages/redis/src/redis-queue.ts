import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseJobMessage, serializeJobMessage } from '@nanogrid/core';
import type { Delivery, JobMessage, QueueSource, ReceiveOptions } from '@nanogrid/core';
import { isNoGroup } from './backend-error.js';
import { BlockingReader } from './blocking-reader.js';
import { RedisLink } from './connection.js';
import type { RedisConnectionOptions } from './connection.js';
import { DEPTH, LEAVE_GROUP, TAKE } from './queue-scripts.js';
import { fieldMap, toDeliveries } from './stream-delivery.js';
import type { RedisQueueKeys, StreamContext, StreamEntry } from './stream-delivery.js';

export type { RedisQueueKeys } from './stream-delivery.js';

export interface RedisQueueOptions extends RedisConnectionOptions {
  /** Plugin name shown in logs and errors. @default 'redis-queue' */
  name?: string;
  /** Queue name; its keys are `{keyPrefix}queue:{queue}` plus `:leases`, `:delayed`, `:dead`. @default 'jobs' */
  queue?: string;
  /** Consumer group shared by every worker of the queue. @default 'nanogrid-workers' */
  group?: string;
  /** This instance's consumer name within the group. @default `{hostname}-{pid}-{random}` */
  consumer?: string;
  /**
   * How long a received message stays invisible before another receive may
   * take it again (the worker died or hung). @default 300_000
   */
  visibilityTimeoutMs?: number;
  /** Deliveries after which a message goes to the dead-letter stream instead. @default 3 */
  maxAttempts?: number;
  /**
   * Longest single XREADGROUP BLOCK. Between blocks a receive moves due
   * delayed retries into the stream and reclaims timed-out deliveries, so these
   * are picked up within this time even while every worker long-polls.
   * (Capped further by the visibility timeout.) @default 2_000
   */
  maxBlockMs?: number;
  /** Dead letters kept (approximate trim of the dead-letter stream). @default 10_000 */
  deadLetterMaxLen?: number;
}

/** A message the queue gave up on. */
export interface RedisDeadLetter {
  /** Entry id in the dead-letter stream. */
  id: string;
  /** The parsed job, or undefined when the message was not a valid job. */
  job: JobMessage | undefined;
  /** The message as it was on the queue. */
  body: string;
  reason: string;
  /** Deliveries made before giving up (0 for a message that never parsed). */
  attempts: number;
  /** ISO time it was dead-lettered. */
  at: string;
}

export interface RedisQueue extends QueueSource {
  readonly keys: RedisQueueKeys;
  /** Puts a raw body on the stream as an outside producer would (either job shape, or garbage). */
  sendRaw(body: unknown): Promise<void>;
  /** Dead letters, oldest first (at most `count`). @default count 1000 */
  deadLetters(count?: number): Promise<RedisDeadLetter[]>;
}

/**
 * A QueueSource on a Redis Stream with a consumer group: XADD to send,
 * XREADGROUP to receive (long-poll on a connection of its own), timed-out
 * deliveries reclaimed with XCLAIM, the delivery count kept by the group,
 * delayed retries in a sorted set, and a dead-letter stream after
 * `maxAttempts`. `extend(ms)` hides a message exactly for `ms` (a lease kept
 * beside the stream when `ms` exceeds the visibility timeout).
 */
export function redisQueue(opts: RedisQueueOptions = {}): RedisQueue {
  const name = opts.name ?? 'redis-queue';
  const link = new RedisLink(opts, name);
  const base = `${link.prefix}queue:${opts.queue ?? 'jobs'}`;
  const keys: RedisQueueKeys = {
    stream: base,
    leases: `${base}:leases`,
    delayed: `${base}:delayed`,
    dead: `${base}:dead`,
  };
  const ctx: StreamContext = {
    link,
    keys,
    group: opts.group ?? 'nanogrid-workers',
    consumer: opts.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    visibilityMs: Math.max(1, opts.visibilityTimeoutMs ?? 300_000),
    maxAttempts: Math.max(1, opts.maxAttempts ?? 3),
    deadLetterMaxLen: opts.deadLetterMaxLen ?? 10_000,
  };
  const sliceMs = Math.max(1, Math.min(opts.maxBlockMs ?? 2_000, ctx.visibilityMs));
  const reader = new BlockingReader(link);
  let groupReady = false;
  let reclaimStart = '-';
  let closed = false;

  const ensureGroup = async () => {
    if (groupReady) return;
    await link.run(async (c) => {
      try {
        // From id 0: messages sent before any worker existed are delivered too.
        await c.call('XGROUP', ['CREATE', keys.stream, ctx.group, '0', 'MKSTREAM']);
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
      }
    });
    groupReady = true;
  };

  const xadd = (body: string) => link.run((c) => c.call('XADD', [keys.stream, '*', 'job', body, 'attempts', '0']));

  /** Promote due retries, reclaim timed-out deliveries, read new entries: one script, nothing blocks. */
  const take = async (want: number): Promise<{ entries: StreamEntry[]; nextDue: number }> => {
    const reply = await link.run((c) =>
      TAKE.run(
        c,
        [keys.stream, keys.leases, keys.delayed],
        [ctx.group, ctx.consumer, ctx.visibilityMs, want, Math.max(100, want * 10), reclaimStart, 100],
      ),
    );
    const [next, rows, nextDue] = reply as [string, [string, unknown, number][], number];
    reclaimStart = next;
    const entries = rows.map(([id, flat, deliveries]) => ({
      id,
      fields: fieldMap(flat),
      deliveries: Number(deliveries),
    }));
    return { entries, nextDue: Number(nextDue) };
  };

  const readNew = async (count: number, blockMs: number, signal?: AbortSignal): Promise<StreamEntry[]> => {
    const args: (string | number)[] = ['GROUP', ctx.group, ctx.consumer, 'COUNT', count];
    // BLOCK 0 would mean "forever": a non-positive wait is a plain non-blocking read.
    if (blockMs > 0) args.push('BLOCK', Math.ceil(blockMs));
    args.push('STREAMS', keys.stream, '>');
    let reply: unknown;
    try {
      reply = await reader.call('XREADGROUP', args, signal);
    } catch (err) {
      throw link.error(err);
    }
    const streams = (reply ?? []) as [string, [string, unknown][]][];
    const rows = streams[0]?.[1] ?? [];
    return rows.map(([id, flat]) => ({ id, fields: fieldMap(flat), deliveries: 1 }));
  };

  /** One pass: promote, reclaim and read new messages in one script; block on a read only when it found nothing. */
  const pass = async (want: number, deadline: number, signal?: AbortSignal): Promise<Delivery[]> => {
    await ensureGroup();
    const { entries, nextDue } = await take(want);
    if (entries.length > 0 || signal?.aborted) return toDeliveries(ctx, entries);
    const block = Math.min(deadline - Date.now(), sliceMs, nextDue >= 0 ? Math.max(1, nextDue) : Infinity);
    if (block <= 0) return [];
    return toDeliveries(ctx, await readNew(want, block, signal));
  };

  return {
    name,
    keys,
    async send(job: JobMessage) {
      await xadd(serializeJobMessage(job));
    },
    async sendRaw(body: unknown) {
      await xadd(typeof body === 'string' ? body : JSON.stringify(body));
    },
    async receive({ max, waitMs, signal }: ReceiveOptions) {
      const want = Math.floor(max);
      if (want < 1 || signal?.aborted || closed) return [];
      const deadline = Date.now() + Math.max(0, waitMs);
      let regrouped = false;
      for (;;) {
        let got: Delivery[];
        try {
          got = await pass(want, deadline, signal);
        } catch (err) {
          if (closed) return [];
          // The group vanished (Redis restarted without persistence): create it again, once.
          if (!isNoGroup(err) || regrouped) throw link.error(err);
          groupReady = false;
          regrouped = true;
          continue;
        }
        if (got.length > 0 || signal?.aborted || closed || Date.now() >= deadline) return got;
      }
    },
    async depth() {
      return link.run(async (c) => Number(await DEPTH.run(c, [keys.stream, keys.delayed], [ctx.group])));
    },
    async deadLetters(count = 1000) {
      const rows = (await link.run((c) => c.call('XRANGE', [keys.dead, '-', '+', 'COUNT', count]))) as [
        string,
        unknown,
      ][];
      return rows.map(([id, flat]) => {
        const f = fieldMap(flat);
        let job: JobMessage | undefined;
        try {
          job = parseJobMessage(f.body ?? '');
        } catch {
          job = undefined;
        }
        return {
          id,
          job,
          body: f.body ?? '',
          reason: f.reason ?? '',
          attempts: Number(f.attempts ?? 0),
          at: f.at ?? '',
        };
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      reader.close();
      // Leave the group tidy when we hold nothing; best effort (Redis may be down).
      if (groupReady)
        await link.run((c) => LEAVE_GROUP.run(c, [keys.stream], [ctx.group, ctx.consumer])).catch(() => undefined);
      await link.close();
    },
  };
}
