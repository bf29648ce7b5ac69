import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../src/triggers/schedule-expression.js';

const at = (iso: string) => new Date(iso);

describe('parseSchedule', () => {
  it('reads rate(N unit) and ticks on multiples of the period', () => {
    const s = parseSchedule('rate(5 minutes)');
    expect(s.kind).toBe('rate');
    expect(s.next(at('2026-01-01T00:03:10Z'))?.toISOString()).toBe('2026-01-01T00:05:00.000Z');
    expect(s.next(at('2026-01-01T00:05:00Z'))?.toISOString()).toBe('2026-01-01T00:10:00.000Z');
    expect(parseSchedule('rate(1 day)').next(at('2026-01-01T10:00:00Z'))?.toISOString()).toBe(
      '2026-01-02T00:00:00.000Z',
    );
  });

  it('reads 5-field cron (minute first) and 6-field cron (seconds first)', () => {
    expect(parseSchedule('*/15 * * * *').next(at('2026-01-01T00:01:00Z'))?.toISOString()).toBe(
      '2026-01-01T00:15:00.000Z',
    );
    expect(parseSchedule('*/10 * * * * *').next(at('2026-01-01T00:00:01Z'))?.toISOString()).toBe(
      '2026-01-01T00:00:10.000Z',
    );
  });

  it('reads cron fields in the given time zone', () => {
    const paris = parseSchedule('0 9 * * *', 'Europe/Paris');
    // 09:00 in Paris in January is 08:00 UTC.
    expect(paris.next(at('2026-01-01T00:00:00Z'))?.toISOString()).toBe('2026-01-01T08:00:00.000Z');
  });

  it.each([
    ['', 'empty'],
    ['rate(0 minutes)', 'zero'],
    ['rate(5 fortnights)', 'unit'],
    ['rate(five minutes)', 'not a number'],
    ['* * * *', 'four fields'],
    ['* * * * * * *', 'seven fields'],
    ['61 * * * *', 'minute out of range'],
    ['x'.repeat(300), 'too long'],
  ])('refuses %j (%s) with VALIDATION_FAILED', (expr) => {
    expect(() => parseSchedule(expr)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('refuses an unknown time zone', () => {
    expect(() => parseSchedule('* * * * *', 'Mars/Olympus')).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', details: { field: 'timezone', timezone: 'Mars/Olympus' } }),
    );
  });
});
