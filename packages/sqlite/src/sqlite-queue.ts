import {
  type DeadLetter,
  type Delivery,
  type JobMessage,
  NanoGridError,
  type QueueSource,
  type ReceiveOptions,
  byteBudget,
  isNanoGridError,
  parseJobMessage,
  serializeJobMessage,
} from '@nanogrid/core';
import { type SqliteSource, useDatabase } from './use-database.js';
import { Wakeups } from './wakeups.js';

export interface SqliteQueueOptions extends SqliteSource {
  /** Plugin name shown in logs and errors. @default 'sqlite-queue' */
  name?: string;
  /** Logical queue inside the file: several queues may share one database. @default 'jobs' */
  queue?: string;
  /** How long a received message stays invisible before it is delivered again. @default 300_000 */
  visibilityTimeoutMs?: number;
  /** Deliveries after which an unacknowledged message goes to the dead letters. @default 3 */
  maxAttempts?: number;
  /**
   * Bytes of messages held at once (waiting, or delivered and not yet
   * acknowledged; `limits.maxQueuedBytes`); a `send` past it throws
   * QUEUE_FULL. Dead letters are kept on disk outside it. @default 128 MiB
   */
  maxBytes?: number;
}

export interface SqliteQueue extends QueueSource {
  /** Puts a message as an outside producer would: either job shape, or garbage (dead-lettered with a reason). */
  sendRaw(body: unknown): Promise<void>;
  /** Messages given up on, oldest first. */
  deadLetters(): Promise<DeadLetter[]>;
  /** Messages received and neither acknowledged nor visible again yet. */
  inFlight(): Promise<number>;
  /** Start-up check: the file answers. */
  check(): Promise<void>;
  /** Bytes of messages held now (what counts against `maxBytes`). */
  bytes(): number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

interface Row {
  id: number;
  body: string;
  attempts: number;
}

/**
 * A durable queue in a SQLite file with the semantics of the in-memory one:
 * at-least-once delivery, a visibility timeout with redelivery, attempt
 * counting and dead letters after `maxAttempts`. A delivery's receipt is its
 * row id plus its attempt number, so a stale delivery's ack/retry/extend
 * changes nothing. Opening the queue hands the leases of a previous process
 * (which held the file's exclusive lock, so it is gone) back at once: a job
 * that was running when the host was killed runs again (at-least-once).
 */
export function sqliteQueue(opts: SqliteQueueOptions): SqliteQueue {
  const name = opts.name ?? 'sqlite-queue';
  const queue = opts.queue ?? 'jobs';
  const visibilityMs = opts.visibilityTimeoutMs ?? 300_000;
  const maxAttempts = opts.maxAttempts ?? 3;
  const database = useDatabase(opts, name);
  const { db } = database;
  const guard = <T>(fn: () => T): T => database.guard(name, fn);
  const write = <T>(fn: () => T, after?: (value: T) => void): Promise<T> => database.write(name, fn, after);
  const wakeups = new Wakeups();
  let closed = false;

  const st = guard(() => ({
    insert: db.prepare<[string, string, number, number]>(
      'INSERT INTO queue_messages (queue, body, visible_at, created_at) VALUES (?, ?, ?, ?)',
    ),
    take: db.prepare<[number, number, string, number, number]>(
      `UPDATE queue_messages SET attempts = attempts + 1, visible_at = ?, leased = 1, last = (attempts + 1 >= ?)
       WHERE id IN (SELECT id FROM queue_messages WHERE queue = ? AND last = 0 AND visible_at <= ? ORDER BY visible_at, id LIMIT ?)
       RETURNING id, body, attempts`,
    ),
    expiredLast: db.prepare<[string, number]>(
      'SELECT id, body, attempts FROM queue_messages WHERE queue = ? AND last = 1 AND visible_at <= ?',
    ),
    bury: db.prepare<[string, string, string, number, number]>(
      'INSERT INTO queue_dead_letters (queue, body, reason, attempts, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    remove: db.prepare<[number]>('DELETE FROM queue_messages WHERE id = ?'),
    ack: db.prepare<[number, number]>('DELETE FROM queue_messages WHERE id = ? AND attempts = ? AND leased = 1'),
    hide: db.prepare<[number, number, number]>(
      'UPDATE queue_messages SET visible_at = ?, leased = 0 WHERE id = ? AND attempts = ? AND leased = 1',
    ),
    extend: db.prepare<[number, number, number]>(
      'UPDATE queue_messages SET visible_at = ? WHERE id = ? AND attempts = ? AND leased = 1',
    ),
    leasedRow: db.prepare<[number, number]>(
      'SELECT id, body, attempts, last FROM queue_messages WHERE id = ? AND attempts = ? AND leased = 1',
    ),
    nextVisible: db.prepare<[string, number]>(
      'SELECT MIN(visible_at) AS at FROM queue_messages WHERE queue = ? AND last = 0 AND visible_at > ?',
    ),
    depth: db.prepare<[string, number]>(
      'SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ? AND last = 0 AND visible_at <= ?',
    ),
    inFlight: db.prepare<[string, number]>(
      'SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ? AND leased = 1 AND visible_at > ?',
    ),
    dead: db.prepare<[string]>('SELECT body, reason, attempts FROM queue_dead_letters WHERE queue = ? ORDER BY id'),
    reclaim: db.prepare<[number, string]>(
      'UPDATE queue_messages SET visible_at = ?, leased = 0 WHERE queue = ? AND leased = 1',
    ),
    held: db.prepare<[string]>('SELECT COALESCE(SUM(length(body)), 0) AS n FROM queue_messages WHERE queue = ?'),
  }));
  // Counted once at open from the file, then kept in step with every insert and delete (O(1) per job).
  const budget = byteBudget({
    maxBytes: opts.maxBytes ?? 128 * 1024 * 1024,
    code: 'QUEUE_FULL',
    what: 'queued job messages',
    plugin: name,
    option: 'limits.maxQueuedBytes',
  });
  budget.add(guard(() => (st.held.get(queue) as { n: number }).n));
  // The previous owner of these leases is gone: its jobs are visible again now, not after their timeout.
  guard(() => st.reclaim.run(Date.now(), queue));

  const reasonFor = (attempts: number) => `not acknowledged after ${attempts} deliveries (maxAttempts ${maxAttempts})`;

  // Messages on their last delivery whose time ran out go to the dead letters, in one transaction.
  const buryExpired = db.transaction((now: number) => {
    for (const row of st.expiredLast.all(queue, now) as Row[]) {
      st.bury.run(queue, row.body, reasonFor(row.attempts), row.attempts, now);
      st.remove.run(row.id);
      budget.add(-row.body.length);
    }
  });
  const take = db.transaction((max: number, now: number) => {
    buryExpired(now);
    return (st.take.all(now + visibilityMs, maxAttempts, queue, now, max) as Row[]).sort((a, b) => a.id - b.id);
  });
  const retryNow = db.transaction((id: number, attempts: number, now: number): boolean => {
    const row = st.leasedRow.get(id, attempts) as (Row & { last: number }) | undefined;
    if (!row) return false;
    if (row.last) {
      st.bury.run(queue, row.body, reasonFor(row.attempts), row.attempts, now);
      st.remove.run(row.id);
      budget.add(-row.body.length);
      return false;
    }
    return st.hide.run(now, id, attempts).changes > 0;
  });

  const deliver = (row: Row): Delivery => {
    const { id, attempts } = row;
    return {
      id: `${id}#${attempts}`,
      job: parseJobMessage(row.body),
      attempt: attempts,
      async ack() {
        await write(() => {
          if (st.ack.run(id, attempts).changes > 0) budget.add(-row.body.length);
        });
      },
      async retry(delayMs = 0) {
        const now = Date.now();
        if (delayMs > 0) await write(() => st.hide.run(now + delayMs, id, attempts));
        else
          await write(
            () => retryNow(id, attempts, now),
            (visible) => visible && wakeups.wake(),
          );
      },
      async extend(ms: number) {
        await write(() => st.extend.run(Date.now() + Math.max(0, ms), id, attempts));
      },
    };
  };

  const shut = () => new NanoGridError('SHUTTING_DOWN', `${name} is closed`, { plugin: name });
  const enqueue = async (body: string) => {
    if (closed) throw shut();
    const now = Date.now();
    // Receivers wake once the message is committed: none can take a send that is then rolled back.
    let counted = false;
    await write(
      () => {
        budget.take(body.length);
        counted = true;
        return st.insert.run(queue, body, now, now);
      },
      () => wakeups.wake(),
    ).catch((err: unknown) => {
      if (counted) budget.add(-body.length); // rolled back: the message is not held
      throw err;
    });
  };

  return {
    name,
    async send(job: JobMessage) {
      await enqueue(serializeJobMessage(job));
    },
    async sendRaw(body: unknown) {
      let job: JobMessage;
      try {
        job = parseJobMessage(body);
      } catch (err) {
        if (closed) throw shut();
        if (!isNanoGridError(err)) throw err;
        const text = typeof body === 'string' ? body : (JSON.stringify(body) ?? String(body));
        await write(() => st.bury.run(queue, text, err.message, 0, Date.now()));
        return;
      }
      await enqueue(JSON.stringify(job));
    },
    async receive({ max, waitMs, signal }: ReceiveOptions) {
      const deadline = Date.now() + Math.max(0, waitMs);
      for (;;) {
        if (closed || signal?.aborted) return [];
        const now = Date.now();
        const rows = await write(() => take(Math.max(1, max), now));
        if (closed) return []; // closed while committing: the leases go back at the next open
        if (rows.length > 0) return rows.map(deliver);
        const left = deadline - now;
        if (left <= 0) return [];
        // Sleep until a send, the next message's visibility, the deadline or an abort: no polling.
        const next = guard(() => (st.nextVisible.get(queue, now) as { at: number | null }).at);
        const until = next === null ? left : Math.min(left, Math.max(1, next - now));
        await wakeups.next(Math.min(until, MAX_TIMER_MS), signal);
      }
    },
    async depth() {
      return guard(() => (st.depth.get(queue, Date.now()) as { n: number }).n);
    },
    async deadLetters() {
      await write(() => buryExpired(Date.now()));
      return guard(() => st.dead.all(queue) as { body: string; reason: string; attempts: number }[]).map((d) => {
        let job: JobMessage | undefined;
        try {
          job = d.attempts > 0 ? parseJobMessage(d.body) : undefined;
        } catch {
          job = undefined;
        }
        return { job, body: d.body, reason: d.reason, attempts: d.attempts };
      });
    },
    async inFlight() {
      return guard(() => (st.inFlight.get(queue, Date.now()) as { n: number }).n);
    },
    async check() {
      guard(() => st.depth.get(queue, 0));
    },
    bytes() {
      return budget.used;
    },
    async close() {
      if (closed) return;
      closed = true;
      wakeups.wake();
      database.release();
    },
  };
}
