import { Cron } from 'croner';
import { NanoGridError } from '../errors.js';

/** A parsed schedule: when it fires next after a given instant. */
export interface ScheduleExpression {
  /** The expression as given (trimmed). */
  readonly source: string;
  readonly kind: 'cron' | 'rate';
  /** IANA time zone cron fields are read in; rates ignore it. */
  readonly timezone: string;
  /** The first tick strictly after `after`, or null when the expression never fires again. */
  next(after: Date): Date | null;
}

const RATE_UNITS: Record<string, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** Shortest interval a schedule may fire at: one second (the cron grain). */
export const MIN_SCHEDULE_INTERVAL_MS = 1_000;

function invalid(message: string, schedule: string): NanoGridError {
  return new NanoGridError('VALIDATION_FAILED', message, { details: { field: 'schedule', schedule } });
}

/** Whether the host's ICU knows this IANA zone (`UTC`, `Europe/Paris` …). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads `rate(N unit)` (units second/minute/hour/day, singular or plural, as
 * EventBridge writes them) or a cron expression of 5 fields (minute first) or
 * 6 fields (seconds first). Rates tick on multiples of their period since the
 * Unix epoch, so every controller computes the same instants.
 */
export function parseSchedule(expression: string, timezone = 'UTC'): ScheduleExpression {
  const source = String(expression ?? '').trim();
  if (!source) throw invalid('schedule is empty: give a cron expression ("*/5 * * * *") or rate(N unit)', source);
  if (source.length > 200) throw invalid('schedule is longer than 200 characters', source.slice(0, 200));
  if (!isTimeZone(timezone)) {
    throw new NanoGridError('VALIDATION_FAILED', `unknown time zone "${timezone}" (use an IANA name such as UTC)`, {
      details: { field: 'timezone', timezone },
    });
  }

  const rate = /^rate\(\s*(\d{1,9})\s+([a-z]+?)s?\s*\)$/i.exec(source);
  if (rate) {
    const n = Number(rate[1]);
    const unit = RATE_UNITS[rate[2]!.toLowerCase()];
    if (!unit) throw invalid(`unknown rate unit in "${source}": use second(s), minute(s), hour(s) or day(s)`, source);
    if (n < 1) throw invalid(`rate must be at least 1 in "${source}"`, source);
    const period = n * unit;
    return {
      source,
      kind: 'rate',
      timezone,
      next: (after) => new Date((Math.floor(after.getTime() / period) + 1) * period),
    };
  }
  if (/^rate\(/i.test(source)) throw invalid(`"${source}" is not rate(N unit), e.g. rate(5 minutes)`, source);

  const fields = source.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw invalid(
      `cron expression "${source}" has ${fields} fields: use 5 (minute first) or 6 (seconds first)`,
      source,
    );
  }
  let cron: Cron;
  try {
    // No callback: croner only evaluates the pattern and starts no timer.
    // UTC as a fixed offset: the same instants, without a time-zone conversion per step (50 times faster).
    const zone = timezone === 'UTC' ? { utcOffset: 0 } : { timezone };
    cron = new Cron(source, { ...zone, mode: '5-or-6-parts', paused: true });
  } catch (err) {
    throw invalid(`cron expression "${source}" is invalid: ${(err as Error).message}`, source);
  }
  return { source, kind: 'cron', timezone, next: (after) => cron.nextRun(after) };
}
