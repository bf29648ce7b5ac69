import { LOGGER, RESULTS } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import type { JobRecord } from '../job.js';
import type { Logger } from '../logger.js';
import type { CounterUpdate, ResultSink } from '../plugins/result-sink.js';
import { STATS_TTL_MS, jobStatsFacts, statsKeys, summaryFields } from './job-stats.js';

/** Finished jobs are added up here and written at most this often: one store write per second, not per job. */
export const STATS_FLUSH_MS = 1000;
/** Counter keys held while the store does not answer; past it the oldest numbers are dropped (and logged). */
const MAX_PENDING_KEYS = 10_000;

interface Pending {
  add: Map<string, number>;
  max: Map<string, number>;
}

/** A function's three pending entries in one minute, and its summary fields: found once, then reused per job. */
interface FunctionMinute {
  minute: number;
  fn: Pending;
  all: Pending;
  hour: Pending;
  n: string;
  err: string;
}

const bump = (m: Map<string, number>, field: string, n: number): void => {
  m.set(field, (m.get(field) ?? 0) + n);
};

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
  /** Entries of `pending` per function for its latest minute (cleared whenever `pending` is swapped or trimmed). */
  private byFunction = new Map<string, FunctionMinute>();
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
    // The counts of statsUpdates(record), added in place: no updates built and merged per job (a few µs each).
    const facts = jobStatsFacts(record);
    if (!facts) return;
    let at = this.byFunction.get(record.function_id);
    if (!at || at.minute !== facts.minute) {
      const keys = statsKeys(record.function_id, facts.minute);
      const fields = summaryFields(record.function_id);
      at = {
        minute: facts.minute,
        fn: this.entry(keys.fn),
        all: this.entry(keys.all),
        hour: this.entry(keys.hour),
        ...fields,
      };
      this.byFunction.set(record.function_id, at);
    }
    bump(at.fn.add, 'n', 1);
    bump(at.fn.add, 'err', facts.failed);
    bump(at.fn.add, facts.start, 1);
    if (facts.durationField !== undefined) bump(at.fn.add, facts.durationField, 1);
    if (facts.mem !== undefined) at.fn.max.set('mem', Math.max(at.fn.max.get('mem') ?? facts.mem, facts.mem));
    bump(at.all.add, at.n, 1);
    bump(at.all.add, at.err, facts.failed);
    bump(at.hour.add, at.n, 1);
    bump(at.hour.add, at.err, facts.failed);
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
    this.byFunction.clear();
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
      const p = this.entry(u.key);
      for (const [f, n] of Object.entries(u.add ?? {})) bump(p.add, f, n);
      for (const [f, n] of Object.entries(u.max ?? {})) p.max.set(f, Math.max(p.max.get(f) ?? n, n));
    }
  }

  /** The pending counts of `key`, made when missing (dropping the oldest key past MAX_PENDING_KEYS). */
  private entry(key: string): Pending {
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= MAX_PENDING_KEYS) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.byFunction.clear(); // it may hold the dropped entry
        this.logger.warn('job statistics dropped: the store has not answered for a long time', { key: oldest });
      }
      this.pending.set(key, (p = { add: new Map(), max: new Map() }));
    }
    return p;
  }
}
