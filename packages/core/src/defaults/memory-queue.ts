import { randomUUID } from 'node:crypto';
import { NanoGridError, isNanoGridError } from '../errors.js';
import type { JobMessage } from '../job.js';
import { byteBudget } from './byte-budget.js';
import { parseJobMessage, serializeJobMessage } from '../job-message.js';
import type { Delivery, QueueSource, ReceiveOptions } from '../plugins/queue-source.js';

export interface MemoryQueueOptions {
  /** Plugin name shown in logs and errors. @default 'memory-queue' */
  name?: string;
  /** How long a received message stays invisible before it is delivered again. @default 300_000 */
  visibilityTimeoutMs?: number;
  /** Deliveries after which an unacknowledged message goes to the dead letters. @default 3 */
  maxAttempts?: number;
  /**
   * Bytes of messages held at once (waiting, delivered and not yet acknowledged,
   * dead letters); a `send` past it throws QUEUE_FULL. @default 128 MiB
   */
  maxBytes?: number;
  /** Dead letters kept; the oldest is dropped past it. @default 100 */
  maxDeadLetters?: number;
}

/** A message the queue gave up on. */
export interface DeadLetter {
  /** The parsed job, or undefined when the message was not a valid job. */
  job: JobMessage | undefined;
  /** The message as it was sent. */
  body: unknown;
  reason: string;
  /** Deliveries made before giving up (0 for a message that never parsed). */
  attempts: number;
}

export interface MemoryQueue extends QueueSource {
  /** Puts a message as an outside producer would: either job shape, or garbage (dead-lettered with a reason). */
  sendRaw(body: unknown): Promise<void>;
  /** Messages given up on, oldest first. */
  deadLetters(): DeadLetter[];
  /** Messages received and neither acknowledged nor visible again yet. */
  inFlight(): number;
  /** Bytes of messages held now (what counts against `maxBytes`). */
  bytes(): number;
}

/** Size of a raw message as held (its JSON text for an object; 0 when it has none). */
function sizeOf(body: unknown): number {
  if (typeof body === 'string') return body.length;
  try {
    return JSON.stringify(body)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** setTimeout fires at once beyond this, which would turn a long wait into a busy loop. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  readonly id: string;
  /** Serialised job: deliveries never share objects with the sender, like a real queue. */
  readonly body: string;
  /** Counted against the budget until acknowledged or dropped (string length: O(1)). */
  readonly bytes: number;
  attempts: number;
  /** Changes on every delivery so a stale delivery's ack/retry/extend does nothing. */
  receipt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * In-process queue with SQS-like semantics: at-least-once delivery, a
 * visibility timeout with redelivery, attempt counting, and a dead-letter list
 * after `maxAttempts` deliveries. `receive` long-polls and wakes on `send`.
 */
export function memoryQueue(opts: MemoryQueueOptions = {}): MemoryQueue {
  const name = opts.name ?? 'memory-queue';
  const visibilityMs = opts.visibilityTimeoutMs ?? 300_000;
  const maxAttempts = opts.maxAttempts ?? 3;
  const ready: Entry[] = [];
  const hidden = new Map<string, Entry>();
  const dead: { letter: DeadLetter; bytes: number }[] = [];
  const maxDead = opts.maxDeadLetters ?? 100;
  const budget = byteBudget({
    maxBytes: opts.maxBytes ?? 128 * 1024 * 1024,
    code: 'QUEUE_FULL',
    what: 'queued job messages',
    plugin: name,
    option: 'limits.maxQueuedBytes',
  });
  // Dead letters stay counted (they hold their message) until dropped as the oldest.
  const bury = (letter: DeadLetter, bytes: number) => {
    dead.push({ letter, bytes });
    while (dead.length > maxDead) budget.add(-(dead.shift()?.bytes ?? 0));
  };
  const waiters = new Set<() => void>();
  let closed = false;
  let receipts = 0;

  const wake = () => {
    for (const w of [...waiters]) w();
  };

  const hide = (entry: Entry, ms: number) => {
    clearTimeout(entry.timer);
    hidden.set(entry.id, entry);
    entry.timer = setTimeout(() => release(entry), Math.min(Math.max(0, ms), MAX_TIMER_MS));
    entry.timer.unref?.();
  };

  // A message becoming visible again: back in line, or dead-lettered when its deliveries are used up.
  const release = (entry: Entry) => {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.receipt = -1;
    hidden.delete(entry.id);
    if (entry.attempts >= maxAttempts) {
      bury(
        {
          job: parseJobMessage(entry.body),
          body: entry.body,
          reason: `not acknowledged after ${entry.attempts} deliveries (maxAttempts ${maxAttempts})`,
          attempts: entry.attempts,
        },
        entry.bytes,
      );
      return;
    }
    ready.push(entry);
    wake();
  };

  const deliver = (entry: Entry): Delivery => {
    entry.attempts += 1;
    const receipt = (entry.receipt = ++receipts);
    hide(entry, visibilityMs);
    const current = () => entry.receipt === receipt && hidden.get(entry.id) === entry;
    return {
      id: `${entry.id}#${entry.attempts}`,
      job: parseJobMessage(entry.body),
      attempt: entry.attempts,
      async ack() {
        if (!current()) return;
        clearTimeout(entry.timer);
        entry.receipt = -1;
        hidden.delete(entry.id);
        budget.add(-entry.bytes);
      },
      async retry(delayMs = 0) {
        if (!current()) return;
        if (delayMs > 0) {
          entry.receipt = -1;
          hide(entry, delayMs);
        } else release(entry);
      },
      async extend(ms: number) {
        if (current()) hide(entry, ms);
      },
    };
  };

  const take = (max: number): Delivery[] => {
    const out: Delivery[] = [];
    while (out.length < max && ready.length > 0) out.push(deliver(ready.shift()!));
    return out;
  };

  /** Resolves on the next send/release, after `ms`, on abort, or on close: no polling. */
  const change = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });

  const enqueue = (body: string) => {
    if (closed) throw new NanoGridError('SHUTTING_DOWN', `${name} is closed`, { plugin: name });
    budget.take(body.length);
    ready.push({ id: randomUUID(), body, bytes: body.length, attempts: 0, receipt: -1, timer: undefined });
    wake();
  };

  return {
    name,
    async send(job: JobMessage) {
      enqueue(serializeJobMessage(job));
    },
    async sendRaw(body: unknown) {
      let job: JobMessage;
      try {
        job = parseJobMessage(body);
      } catch (err) {
        if (closed) throw new NanoGridError('SHUTTING_DOWN', `${name} is closed`, { plugin: name });
        if (!isNanoGridError(err)) throw err;
        const bytes = sizeOf(body);
        budget.take(bytes);
        bury({ job: undefined, body, reason: err.message, attempts: 0 }, bytes);
        return;
      }
      enqueue(JSON.stringify(job));
    },
    async receive({ max, waitMs, signal }: ReceiveOptions) {
      const deadline = Date.now() + Math.max(0, waitMs);
      for (;;) {
        if (closed || signal?.aborted) return [];
        const got = take(Math.max(1, max));
        if (got.length > 0) return got;
        const left = deadline - Date.now();
        if (left <= 0) return [];
        await change(Math.min(left, MAX_TIMER_MS), signal);
      }
    },
    async depth() {
      return ready.length;
    },
    deadLetters() {
      return dead.map((d) => ({ ...d.letter }));
    },
    inFlight() {
      return hidden.size;
    },
    bytes() {
      return budget.used;
    },
    async close() {
      closed = true;
      for (const entry of hidden.values()) clearTimeout(entry.timer);
      wake();
    },
  };
}
