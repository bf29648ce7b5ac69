import { randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { LOGGER, REPLICAS, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { isNanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StorageBackend } from '../plugins/storage-backend.js';

/** One pending copy, kept in the primary storage until every replica has it. */
export interface ReplicationEntry {
  id: string;
  /** Keys copied from the primary storage as they are there. */
  keys: string[];
  /** Objects written as given (a job's result record). */
  inline: { key: string; body: string; contentType: string }[];
  /** Replicas (by `replicaId`) that still miss the copy. */
  targets: string[];
  attempts: number;
  /** Epoch ms before which the entry is not retried. */
  next_at: number;
  created_at: string;
  last_error?: string;
}

export const OUTBOX_PREFIX = 'replication/pending/';

/** Replicas are told apart by position and name (two GCS buckets are both `gcs-storage`). */
export function replicaId(replica: StorageBackend, index: number): string {
  return `${index}:${replica.name}`;
}

/**
 * Copies code and results to every replica. Each copy is first written as an
 * entry of a durable outbox in the primary storage (`replication/pending/`),
 * then tried at once; a replica that is down never fails the caller, and the
 * entries left over are retried with backoff by any process running `start()` —
 * so nothing is lost across a restart.
 */
@injectable()
export class Replicator {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Delay of the first retry; doubles per attempt up to `maxDelayMs`. */
  retryMs = 2000;
  maxDelayMs = 5 * 60_000;

  constructor(
    @inject(STORAGE) private readonly primary: StorageBackend,
    @inject(REPLICAS) private readonly replicas: StorageBackend[],
    @inject(LOGGER) private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  /**
   * Records the copies durably, then starts them in the background. Resolves
   * once the record is written; never rejects (a failure to record is logged).
   */
  async enqueue(keys: string[], inline: ReplicationEntry['inline'] = []): Promise<void> {
    if (!this.enabled || (keys.length === 0 && inline.length === 0)) return;
    const entry: ReplicationEntry = {
      id: randomUUID(),
      keys,
      inline,
      targets: this.replicas.map(replicaId),
      attempts: 0,
      next_at: Date.now(),
      created_at: new Date().toISOString(),
    };
    try {
      await this.save(entry);
    } catch (err) {
      this.logger.error('replication: could not record pending copies; they are not replicated', {
        keys,
        error: (err as Error).message,
      });
      return;
    }
    this.track(this.attempt(entry));
  }

  /** Retries what the outbox holds every `retryMs` (and once at once). */
  start(): void {
    if (!this.enabled || this.timer) return;
    const tick = (): void => {
      this.sweeping = this.sweep().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.retryMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops retrying and waits for copies under way. Pending entries stay for the next start. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Entries still waiting for a replica. */
  async pending(): Promise<ReplicationEntry[]> {
    const objects = await this.primary.list(OUTBOX_PREFIX);
    const entries = await Promise.all(objects.map((o) => this.load(o.key)));
    return entries.filter((e): e is ReplicationEntry => e !== undefined);
  }

  /** One pass over the outbox: entries that are due are attempted. */
  async sweep(now = Date.now()): Promise<void> {
    let entries: ReplicationEntry[];
    try {
      entries = await this.pending();
    } catch (err) {
      this.logger.warn('replication: cannot read the outbox', { error: (err as Error).message });
      return;
    }
    for (const entry of entries) if (entry.next_at <= now) await this.attempt(entry);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async attempt(entry: ReplicationEntry): Promise<void> {
    const left: string[] = [];
    let lastError: string | undefined;
    for (const target of entry.targets) {
      const replica = this.replicaFor(target);
      if (!replica) {
        this.logger.warn('replication: a replica named in the outbox is no longer configured; its copy is dropped', {
          entry: entry.id,
          replica: target,
        });
        continue;
      }
      try {
        await this.copyTo(replica, entry);
      } catch (err) {
        left.push(target);
        lastError = `${target}: ${(err as Error).message}`;
      }
    }
    const key = `${OUTBOX_PREFIX + entry.id}.json`;
    try {
      if (left.length === 0) {
        await this.primary.delete(key);
        return;
      }
      const attempts = entry.attempts + 1;
      const delay = Math.min(this.retryMs * 2 ** (attempts - 1), this.maxDelayMs);
      await this.save({
        ...entry,
        targets: left,
        attempts,
        next_at: Date.now() + delay,
        ...(lastError ? { last_error: lastError } : {}),
      });
      if (attempts === 1 || attempts % 10 === 0)
        this.logger.warn('replication: a replica is behind; will retry', {
          entry: entry.id,
          attempts,
          error: lastError,
        });
    } catch (err) {
      this.logger.warn('replication: could not update the outbox', { entry: entry.id, error: (err as Error).message });
    }
  }

  /** The replica an outbox target names: the same position and name, else the same position (a renamed plugin). */
  private replicaFor(target: string): StorageBackend | undefined {
    const exact = this.replicas.find((r, i) => replicaId(r, i) === target);
    if (exact) return exact;
    const index = Number.parseInt(target, 10);
    return Number.isInteger(index) ? this.replicas[index] : undefined;
  }

  private async copyTo(replica: StorageBackend, entry: ReplicationEntry): Promise<void> {
    for (const key of entry.keys) {
      let info;
      try {
        info = await this.primary.head(key);
        if (!info) continue; // deleted from the primary since: nothing to copy
        await replica.put(key, await this.primary.get(key), info.contentType ? { contentType: info.contentType } : {});
      } catch (err) {
        if (isNanoGridError(err, 'NOT_FOUND')) continue;
        throw err;
      }
    }
    for (const obj of entry.inline) await replica.put(obj.key, obj.body, { contentType: obj.contentType });
  }

  private async save(entry: ReplicationEntry): Promise<void> {
    await this.primary.put(`${OUTBOX_PREFIX + entry.id}.json`, JSON.stringify(entry), {
      contentType: 'application/json',
    });
  }

  private async load(key: string): Promise<ReplicationEntry | undefined> {
    try {
      return JSON.parse((await buffer(await this.primary.get(key))).toString('utf8')) as ReplicationEntry;
    } catch (err) {
      if (isNanoGridError(err, 'NOT_FOUND')) return undefined; // done by another process meanwhile
      this.logger.warn('replication: unreadable outbox entry skipped', { key, error: (err as Error).message });
      return undefined;
    }
  }
}
