import { LOGGER, RESULTS } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import type { JobRecord } from '../job.js';
import type { Logger } from '../logger.js';
import type { CounterUpdate, ResultSink } from '../plugins/result-sink.js';
import { STATS_TTL_MS, statsUpdates } from './job-stats.js';

/** Finished jobs are added up here and written at most this often: one store write per second, not per job. */
export const STATS_FLUSH_MS = 1000;
/** Counter keys held while the store does not answer; past it the oldest numbers are dropped (and logged). */
const MAX_PENDING_KEYS = 10_000;

interface Pending {
  add: Map<string, number>;
  max: Map<string, number>;
}

/**
 * Adds finished jobs to the per-minute statistics. Counts are merged in memory
 * and written in one `bumpCounters` call a second later, so a busy worker pays
 * a map update per job instead of a store round trip (the cost is in
 * bench/dashboard-stats.mjs). A failed write keeps the counts for the next
 * one; `stop()` writes what is left.
 */
@injectable()
export class StatsRecorder {
  private pending = new Map<string, Pending>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;
  private failing = false;

  constructor(
    @inject(RESULTS) private readonly results: ResultSink,
    @inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Counts a final record (cancelled jobs are not counted); written within STATS_FLUSH_MS. */
  record(record: JobRecord): void {
    if (!this.results.bumpCounters) return;
    const updates = statsUpdates(record);
    if (updates.length === 0) return;
    this.merge(updates);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, STATS_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes the counts held now (after any write in progress). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.pending.size === 0 || !this.results.bumpCounters) return;
    const batch = this.pending;
    this.pending = new Map();
    const updates: CounterUpdate[] = [...batch].map(([key, p]) => ({
      key,
      add: Object.fromEntries(p.add),
      ...(p.max.size > 0 ? { max: Object.fromEntries(p.max) } : {}),
    }));
    this.writing = this.results.bumpCounters(updates, STATS_TTL_MS).then(
      () => {
        if (this.failing) this.logger.info('job statistics are written again');
        this.failing = false;
      },
      (err: Error) => {
        // Kept for the next write: the store may be back by then.
        if (!this.failing) this.logger.warn('could not write job statistics; keeping them', { error: err.message });
        this.failing = true;
        this.merge(updates);
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
  }

  /** Writes what is left; later records are still counted but wait for the next flush. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private merge(updates: CounterUpdate[]): void {
    for (const u of updates) {
      let p = this.pending.get(u.key);
      if (!p) {
        if (this.pending.size >= MAX_PENDING_KEYS) {
          const oldest = this.pending.keys().next().value as string;
          this.pending.delete(oldest);
          this.logger.warn('job statistics dropped: the store has not answered for a long time', { key: oldest });
        }
        this.pending.set(u.key, (p = { add: new Map(), max: new Map() }));
      }
      for (const [f, n] of Object.entries(u.add ?? {})) p.add.set(f, (p.add.get(f) ?? 0) + n);
      for (const [f, n] of Object.entries(u.max ?? {})) p.max.set(f, Math.max(p.max.get(f) ?? n, n));
    }
  }
}
