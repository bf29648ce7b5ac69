import type { JobRecord } from '../job.js';
import type { CounterUpdate, ResultSink } from '../plugins/result-sink.js';
import { addBins, binField, durationBin, quantile } from './duration-sketch.js';

/**
 * Per-minute statistics of finished jobs, kept as counter hashes in the
 * result store: the worker that publishes a job's final record adds it
 * (through its StatsRecorder, once a second) to
 * `stats:fn:{function_id}:{minute}` (invocations, errors, cold / warm starts,
 * peak memory, duration bins) and to `stats:all:{minute}` (per-function
 * invocations and errors, for the functions list). Every controller reads the
 * same numbers, and they outlive any process; they expire after 25 h.
 */
export const STATS_TTL_MS = 25 * 3_600_000;
/** The longest window a reader may ask for. */
export const STATS_MAX_WINDOW_S = 86_400;
const MINUTE_S = 60;

const fnKey = (functionId: string, minute: number) => `stats:fn:${functionId}:${minute}`;
const allKey = (minute: number) => `stats:all:${minute}`;
/** The same per hour: a 24 h functions list reads 24 of these plus the minutes at its two ends. */
const allHourKey = (hour: number) => `stats:allh:${hour}`;
const HOUR_S = 3600;
// The function id is the field's prefix: split at the last '|' on read.
const SEP = '|';

/** Start of the minute (epoch seconds) that holds `ms`. */
export const minuteOf = (ms: number): number => Math.floor(ms / 60_000) * MINUTE_S;

/**
 * What one final record counts, before it is spread over keys: its minute, whether it failed, its start kind,
 * its duration field (`d{bin}`) and peak memory. Undefined for a cancelled job (it did not finish a run).
 */
export interface JobStatsFacts {
  minute: number;
  failed: 0 | 1;
  start: 'cold' | 'warm';
  /** The duration bin's field, when the record has a duration. */
  durationField?: string;
  /** Peak memory in bytes, when above 0. */
  mem?: number;
}

export function jobStatsFacts(record: JobRecord): JobStatsFacts | undefined {
  if (record.status !== 'completed' && record.status !== 'failed') return undefined;
  const at = Date.parse(record.finished_at ?? record.updated_at);
  const facts: JobStatsFacts = {
    minute: minuteOf(Number.isNaN(at) ? Date.now() : at),
    failed: record.status === 'failed' ? 1 : 0,
    start: record.start === undefined || record.start === 'cold' ? 'cold' : 'warm',
  };
  if (typeof record.execution_time_ms === 'number' && Number.isFinite(record.execution_time_ms))
    facts.durationField = binField(durationBin(record.execution_time_ms));
  const mem = record.peak_memory_bytes;
  if (typeof mem === 'number' && mem > 0) facts.mem = mem;
  return facts;
}

/** The three counter keys of a function's record in a minute: its own, the minute's summary, the hour's summary. */
export function statsKeys(functionId: string, minute: number): { fn: string; all: string; hour: string } {
  return { fn: fnKey(functionId, minute), all: allKey(minute), hour: allHourKey(Math.floor(minute / HOUR_S) * HOUR_S) };
}

/** Fields of the summary keys (`all`, `hour`) that count a function's invocations and errors. */
export function summaryFields(functionId: string): { n: string; err: string } {
  return { n: `${functionId}${SEP}n`, err: `${functionId}${SEP}err` };
}

/** The counter updates one final record makes; none for a cancelled job (it did not finish a run). */
export function statsUpdates(record: JobRecord): CounterUpdate[] {
  const facts = jobStatsFacts(record);
  if (!facts) return [];
  const add: Record<string, number> = { n: 1, err: facts.failed, [facts.start]: 1 };
  if (facts.durationField !== undefined) add[facts.durationField] = 1;
  const keys = statsKeys(record.function_id, facts.minute);
  const fields = summaryFields(record.function_id);
  const summary = { [fields.n]: 1, [fields.err]: facts.failed };
  return [
    { key: keys.fn, add, ...(facts.mem !== undefined ? { max: { mem: facts.mem } } : {}) },
    { key: keys.all, add: summary },
    { key: keys.hour, add: summary },
  ];
}

export interface StatsTotals {
  invocations: number;
  errors: number;
  /** Milliseconds, within ~10% (binned); null without finished runs. */
  p50_ms: number | null;
  p95_ms: number | null;
  cold: number;
  warm: number;
  /** Largest peak memory of a run, MiB (0.1); null when no run reported one. */
  peak_memory_mb: number | null;
}

export interface StatsBucket extends StatsTotals {
  /** Start of the bucket, epoch seconds. */
  t: number;
}

export interface StatsRange {
  /** Epoch seconds, multiples of 60: buckets cover [from, to). */
  from: number;
  to: number;
  /** Seconds per bucket, a multiple of 60. */
  step: number;
}

/** Where buckets of `step` seconds covering the last `windowS` seconds before `nowMs` start and end. */
export function statsRange(windowS: number, step: number, nowMs: number): StatsRange {
  const to = minuteOf(nowMs) + MINUTE_S; // the current minute is included
  const count = Math.ceil(windowS / step);
  return { from: to - count * step, to, step };
}

const mib = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;

function totalsOf(minutes: Record<string, number>[]): StatsTotals {
  const bins = new Map<number, number>();
  let invocations = 0;
  let errors = 0;
  let cold = 0;
  let warm = 0;
  let mem = 0;
  for (const c of minutes) {
    invocations += c.n ?? 0;
    errors += c.err ?? 0;
    cold += c.cold ?? 0;
    warm += c.warm ?? 0;
    mem = Math.max(mem, c.mem ?? 0);
    addBins(bins, c);
  }
  return {
    invocations,
    errors,
    p50_ms: quantile(bins, 0.5),
    p95_ms: quantile(bins, 0.95),
    cold,
    warm,
    peak_memory_mb: mem > 0 ? mib(mem) : null,
  };
}

/** One function's buckets over `range` and the totals of the whole range. */
export async function readFunctionStats(
  results: Required<Pick<ResultSink, 'readCounters'>>,
  functionId: string,
  range: StatsRange,
): Promise<{ buckets: StatsBucket[]; totals: StatsTotals }> {
  const minutes: number[] = [];
  for (let m = range.from; m < range.to; m += MINUTE_S) minutes.push(m);
  const counters = await results.readCounters(minutes.map((m) => fnKey(functionId, m)));
  const perBucket = range.step / MINUTE_S;
  const buckets: StatsBucket[] = [];
  for (let i = 0; i < minutes.length; i += perBucket)
    buckets.push({ t: minutes[i] as number, ...totalsOf(counters.slice(i, i + perBucket)) });
  return { buckets, totals: totalsOf(counters) };
}

/** Invocations and errors of every function over `range` (functions without any are absent). */
export async function readStatsSummary(
  results: Required<Pick<ResultSink, 'readCounters'>>,
  range: Pick<StatsRange, 'from' | 'to'>,
): Promise<Map<string, { invocations: number; errors: number }>> {
  const keys: string[] = [];
  // Whole hours inside the range from the hourly hashes, the minutes before and after them from the minute ones.
  const firstHour = Math.ceil(range.from / HOUR_S) * HOUR_S;
  const endHours = Math.max(firstHour, Math.floor(range.to / HOUR_S) * HOUR_S);
  for (let m = range.from; m < Math.min(firstHour, range.to); m += MINUTE_S) keys.push(allKey(m));
  for (let h = firstHour; h < endHours; h += HOUR_S) keys.push(allHourKey(h));
  for (let m = Math.max(endHours, range.from); m < range.to; m += MINUTE_S) keys.push(allKey(m));
  const out = new Map<string, { invocations: number; errors: number }>();
  for (const c of await results.readCounters(keys)) {
    for (const [field, n] of Object.entries(c)) {
      const cut = field.lastIndexOf(SEP);
      const id = field.slice(0, cut);
      const kind = field.slice(cut + 1);
      const t = out.get(id) ?? { invocations: 0, errors: 0 };
      if (kind === 'n') t.invocations += n;
      else if (kind === 'err') t.errors += n;
      else continue;
      out.set(id, t);
    }
  }
  return out;
}
