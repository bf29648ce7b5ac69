import {
  type FunctionRegistry,
  NanoGridError,
  type ResultSink,
  STATS_MAX_WINDOW_S,
  readFunctionStats,
  readStatsSummary,
  statsRange,
} from '@nanogrid/core';
import type { FunctionStats, StatsSummary } from '@nanogrid/client';
import type { Context, Hono } from 'hono';

export interface StatsRoutesDeps {
  registry: Pick<FunctionRegistry, 'get' | 'list'>;
  /** The shared result store the workers count finished jobs into (absent: the routes explain it). */
  results: ResultSink | undefined;
  /** @default Date.now */
  now?: () => number;
}

/** Buckets a chart gets when `step` is not given. */
const DEFAULT_BUCKETS = 60;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600 };

const bad = (field: string, message: string) => new NanoGridError('VALIDATION_FAILED', message, { details: { field } });

/** `90s`, `15m`, `1h` or plain seconds: a whole number of minutes from 1 minute to 24 hours. */
export function readWindow(text: string | undefined): number {
  if (text === undefined) return 3600;
  const m = /^(\d{1,6})([smh]?)$/.exec(text);
  const seconds = m ? Number(m[1]) * (UNIT_S[m[2] || 's'] ?? 1) : Number.NaN;
  if (!(seconds >= 60 && seconds <= STATS_MAX_WINDOW_S && seconds % 60 === 0))
    throw bad('window', 'window must be whole minutes from 1m to 24h, e.g. 15m, 1h, 24h or 3600 (seconds)');
  return seconds;
}

/** Seconds per bucket: a multiple of 60 no longer than the window; by default about 60 buckets. */
export function readStep(text: string | undefined, windowS: number): number {
  if (text === undefined) return Math.ceil(windowS / DEFAULT_BUCKETS / 60) * 60;
  const step = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(step >= 60 && step <= windowS && step % 60 === 0))
    throw bad('step', `step must be seconds per bucket, a multiple of 60 from 60 to the window (${windowS})`);
  return step;
}

function countersOf(results: ResultSink | undefined): Required<Pick<ResultSink, 'readCounters'>> {
  if (!results?.readCounters) {
    throw new NanoGridError(
      'BAD_REQUEST',
      `the result store "${results?.name ?? 'none'}" keeps no statistics; use the memory, SQLite or Redis store`,
      results ? { plugin: results.name } : {},
    );
  }
  return { readCounters: results.readCounters.bind(results) };
}

/** `GET /functions/{ref}/stats` (charts of one function) and `GET /stats/functions` (the functions list). */
export function statsRoutes(app: Hono, deps: StatsRoutesDeps): void {
  const now = deps.now ?? Date.now;

  app.get('/functions/:ref/stats', async (c: Context) => {
    const windowS = readWindow(c.req.query('window'));
    const step = readStep(c.req.query('step'), windowS);
    const counters = countersOf(deps.results);
    // Every version of the function: stats are kept per function id.
    const meta = await deps.registry.get(c.req.param('ref') ?? '', 'ref');
    const range = statsRange(windowS, step, now());
    const { buckets, totals } = await readFunctionStats(counters, meta.function_id, range);
    const body: FunctionStats = {
      function_id: meta.function_id,
      name: meta.function_name,
      from: new Date(range.from * 1000).toISOString(),
      to: new Date(range.to * 1000).toISOString(),
      step_s: step,
      buckets,
      totals,
    };
    return c.json(body);
  });

  app.get('/stats/functions', async (c: Context) => {
    const windowS = readWindow(c.req.query('window'));
    const counters = countersOf(deps.results);
    const range = statsRange(windowS, 60, now());
    const [summary, functions] = await Promise.all([readStatsSummary(counters, range), deps.registry.list()]);
    const body: StatsSummary = {
      from: new Date(range.from * 1000).toISOString(),
      to: new Date(range.to * 1000).toISOString(),
      functions: functions.map((f) => ({
        function_id: f.function_id,
        name: f.function_name,
        ...(summary.get(f.function_id) ?? { invocations: 0, errors: 0 }),
      })),
    };
    return c.json(body);
  });
}
