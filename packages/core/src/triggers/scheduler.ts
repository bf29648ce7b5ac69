import { isNanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { JobService } from '../engine/job-service.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parallelGate } from '../webhooks/parallel-gate.js';
import { type ScheduleExpression, parseSchedule } from './schedule-expression.js';
import type { Schedule, ScheduleStore } from './schedule-store.js';

export interface SchedulerOptions {
  store: Pick<ScheduleStore, 'list'>;
  jobs: Pick<JobService, 'submit'>;
  /** Where ticks are claimed, so one controller of many fires each. */
  results: Pick<ResultSink, 'claim'>;
  logger: Logger;
  /** Names this process in claims (logs only). */
  owner: string;
  /** How often schedules are checked. @default 1000 */
  intervalMs?: number;
  /** A tick later than this is not fired (the process was stopped, or the pass was late). @default 60_000 */
  graceMs?: number;
  /** Schedules are re-read from storage at most this often. @default 10_000 */
  refreshMs?: number;
  now?: () => number;
}

const CLAIM_TTL_MS = 24 * 3_600_000;
/** A pass yields to the event loop once it has computed ticks this long, so the host keeps serving. */
const YIELD_AFTER_MS = 20;
/** Ticks claimed and fired at once per pass. */
const FIRE_PARALLEL = 16;

/**
 * What a pass remembers of a schedule: its parsed expression and its next tick
 * (null: it never fires again). A pass computes ticks only for schedules that are
 * due: cron in a time zone costs about 2 ms per step, so walking every schedule's
 * ticks through the grace window on every pass held the event loop for seconds.
 */
interface Tracked {
  key: string;
  expr: ScheduleExpression;
  next: number | null;
}

/**
 * Fires schedules. Every controller runs one; each pass looks, per schedule,
 * for the latest tick at or before now and not older than `graceMs`, and
 * claims `schedule:{id}:{tick}` in the result sink — only the controller that
 * takes the claim submits the job. Ticks missed while no controller ran (or
 * older than the grace) are skipped, never replayed in a burst.
 */
export class Scheduler {
  private timer: ReturnType<typeof setInterval> | undefined;
  private cache: { at: number; schedules: Schedule[] } | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly tracked = new Map<string, Tracked>();
  private readonly fire = parallelGate(FIRE_PARALLEL);

  constructor(private readonly opts: SchedulerOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Forgets the cached list, so a new or deleted schedule counts at the next pass. */
  invalidate(): void {
    this.cache = undefined;
  }

  /** One pass over every schedule (the timer calls it; tests call it directly). */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async schedules(now: number): Promise<Schedule[]> {
    if (this.cache && now - this.cache.at < (this.opts.refreshMs ?? 10_000)) return this.cache.schedules;
    const schedules = await this.opts.store.list();
    this.cache = { at: now, schedules };
    return schedules;
  }

  private async pass(): Promise<void> {
    const now = this.now();
    const grace = this.opts.graceMs ?? 60_000;
    let schedules: Schedule[];
    try {
      schedules = await this.schedules(now);
    } catch (err) {
      this.opts.logger.warn('schedules could not be read; retrying', { error: (err as Error).message });
      return;
    }
    const due: [Schedule, Date][] = [];
    const seen = new Set<string>();
    let since = performance.now();
    for (const s of schedules) {
      if (performance.now() - since > YIELD_AFTER_MS) {
        await yieldToLoop();
        since = performance.now();
      }
      seen.add(s.schedule_id);
      try {
        const latest = this.latestDueTick(s, now, grace);
        if (latest) due.push([s, latest]);
      } catch (err) {
        this.opts.logger.error('schedule could not fire', {
          schedule_id: s.schedule_id,
          function: s.function,
          error: (err as Error).message,
        });
      }
    }
    for (const id of this.tracked.keys()) if (!seen.has(id)) this.tracked.delete(id);
    await Promise.all(
      due.map(async ([s, latest]) => {
        if (await this.fire.run(() => this.fireTick(s, latest))) return;
        // The claim could not be taken (the backend failed): look at this tick again next pass.
        const t = this.tracked.get(s.schedule_id);
        if (t) t.next = Math.min(t.next ?? Number.POSITIVE_INFINITY, latest.getTime());
      }),
    );
  }

  /** The latest tick in (now - grace, now] not yet looked at, never one from before the schedule existed. */
  private latestDueTick(s: Schedule, now: number, grace: number): Date | undefined {
    const key = `${s.schedule}\u0000${s.timezone}\u0000${s.created_at}`;
    let t = this.tracked.get(s.schedule_id);
    if (!t || t.key !== key) {
      const expr = parseSchedule(s.schedule, s.timezone);
      const from = Math.max(now - grace, Date.parse(s.created_at) || 0);
      t = { key, expr, next: expr.next(new Date(from))?.getTime() ?? null };
      this.tracked.set(s.schedule_id, t);
    }
    if (t.next === null || t.next > now) return undefined;
    // Due. A tick older than the grace window (the process was stopped) is skipped: walk from the window.
    let tick: Date | null = t.next > now - grace ? new Date(t.next) : t.expr.next(new Date(now - grace));
    let latest: Date | undefined;
    while (tick && tick.getTime() <= now) {
      latest = tick;
      tick = t.expr.next(tick);
    }
    t.next = tick ? tick.getTime() : null;
    return latest;
  }

  /** Claims the tick; only the controller that takes the claim submits the job. False: no claim (retry). */
  private async fireTick(s: Schedule, latest: Date): Promise<boolean> {
    let held: string | undefined;
    try {
      held = await this.opts.results.claim!(
        `schedule:${s.schedule_id}:${latest.getTime()}`,
        this.opts.owner,
        CLAIM_TTL_MS,
      );
    } catch (err) {
      this.opts.logger.warn('schedule tick could not be claimed; retrying', {
        schedule_id: s.schedule_id,
        error: (err as Error).message,
      });
      return false;
    }
    if (held !== undefined) return true; // another controller (or an earlier pass) fired it
    try {
      const { record } = await this.opts.jobs.submit(s.function, s.payload, 'function', { trigger: 'schedule' });
      this.opts.logger.info('schedule fired', {
        schedule_id: s.schedule_id,
        function: s.function,
        tick: latest.toISOString(),
        job_id: record.job_id,
      });
    } catch (err) {
      const level = isNanoGridError(err, 'FUNCTION_NOT_FOUND') ? 'warn' : 'error';
      this.opts.logger[level]('schedule could not fire', {
        schedule_id: s.schedule_id,
        function: s.function,
        error: (err as Error).message,
      });
    }
    return true;
  }
}
