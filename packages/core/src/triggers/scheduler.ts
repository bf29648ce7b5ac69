import { isNanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { JobService } from '../engine/job-service.js';
import { parseSchedule } from './schedule-expression.js';
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
    await Promise.all(
      schedules.map(async (s) => {
        try {
          // The latest tick in (now - grace, now], and never one from before the schedule existed.
          const expr = parseSchedule(s.schedule, s.timezone);
          const from = Math.max(now - grace, Date.parse(s.created_at) || 0);
          let tick: Date | null = expr.next(new Date(from));
          let latest: Date | undefined;
          while (tick && tick.getTime() <= now) {
            latest = tick;
            tick = expr.next(tick);
          }
          if (!latest) return;
          const held = await this.opts.results.claim!(
            `schedule:${s.schedule_id}:${latest.getTime()}`,
            this.opts.owner,
            CLAIM_TTL_MS,
          );
          if (held !== undefined) return; // another controller (or an earlier pass) fired it
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
      }),
    );
  }
}
