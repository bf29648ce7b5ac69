import { Cron } from 'croner';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/logger.js';
import type { Schedule } from '../src/triggers/schedule-store.js';
import { Scheduler } from '../src/triggers/scheduler.js';

const CREATED = '2026-01-01T00:00:00.000Z';
const schedule = (i: number, expr: string, timezone = 'UTC'): Schedule => ({
  schedule_id: `s-${i}`,
  function_id: 'f',
  function: 'f',
  schedule: expr,
  timezone,
  payload: { i },
  created_at: CREATED,
});

describe('Scheduler with 10,000 schedules', () => {
  afterEach(() => vi.restoreAllMocks());

  it('fires what is due, computes ticks only for due schedules, and lets the event loop run', async () => {
    const schedules: Schedule[] = [
      ...Array.from({ length: 4_990 }, (_, i) => schedule(i, '* * * * *')),
      ...Array.from({ length: 4_989 }, (_, i) => schedule(5_000 + i, 'rate(1 minute)')),
      // Every second in a time zone: the costly kind of cron step (about 2 ms each).
      ...Array.from({ length: 20 }, (_, i) => schedule(20_000 + i, '* * * * * *', 'Europe/Paris')),
      // Stored before expressions that never fire were refused at create.
      schedule(30_000, '0 0 30 2 *'),
    ];
    let now = Date.parse('2026-03-01T10:00:10Z');
    let open = 0;
    let most = 0;
    let served = false;
    let servedAtFirstClaim: boolean | undefined;
    const claimed = new Set<string>();
    const submitted: unknown[] = [];
    const scheduler = new Scheduler({
      store: { list: async () => schedules },
      results: {
        claim: async (key) => {
          servedAtFirstClaim ??= served;
          open++;
          most = Math.max(most, open);
          await Promise.resolve();
          open--;
          if (claimed.has(key)) return 'someone';
          claimed.add(key);
          return undefined;
        },
      },
      jobs: {
        submit: (async (_ref: string, payload: unknown) => {
          submitted.push(payload);
          return { record: { job_id: `j-${submitted.length}` } };
        }) as never,
      },
      logger: silentLogger,
      owner: 'test',
      now: () => now,
    });
    const steps = vi.spyOn(Cron.prototype, 'nextRun');

    setImmediate(() => {
      served = true;
    });
    await scheduler.tick();
    // Every schedule but the one that never fires had a tick in the last minute: 10:00:00, or 10:00:10.
    expect(submitted).toHaveLength(9_999);
    expect(servedAtFirstClaim).toBe(true);
    expect(most).toBeLessThanOrEqual(16);

    // One second later: only the every-second schedules are due, and only they cost cron steps.
    steps.mockClear();
    now += 1_000;
    await scheduler.tick();
    expect(submitted).toHaveLength(9_999 + 20);
    expect(steps.mock.calls.length).toBeLessThanOrEqual(2 * 20);
    expect(claimed.has(`schedule:s-20000:${now}`)).toBe(true);

    // The minute turns: the every-minute ones fire once more, each tick once.
    now = Date.parse('2026-03-01T10:01:00Z');
    await scheduler.tick();
    await scheduler.tick();
    expect(submitted).toHaveLength(9_999 + 20 + 9_979 + 20);
  }, 60_000);
});
