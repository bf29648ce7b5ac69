import type { Job, NanoGridClient } from './vendor/client/index.js';

/** Jobs created in the last `windowMs`, newest first, at most `max` of them (GET /jobs, page after page). */
export async function recentJobs(
  api: NanoGridClient,
  opts: { function?: string; windowMs: number; max?: number },
): Promise<{ jobs: Job[]; complete: boolean }> {
  const since = new Date(Date.now() - opts.windowMs).toISOString();
  const max = opts.max ?? 1000;
  const jobs: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.listJobs({
      since,
      limit: 100,
      ...(opts.function ? { function: opts.function } : {}),
      ...(cursor ? { cursor } : {}),
    });
    jobs.push(...page.jobs);
    cursor = page.next_cursor;
  } while (cursor && jobs.length < max);
  return { jobs, complete: !cursor };
}

/** Invocations and errors per function name. */
export function countByFunction(jobs: Job[]): Map<string, { invocations: number; errors: number }> {
  const out = new Map<string, { invocations: number; errors: number }>();
  for (const j of jobs) {
    const name = j.function_name ?? j.function_id;
    const c = out.get(name) ?? { invocations: 0, errors: 0 };
    c.invocations++;
    if (j.status === 'failed') c.errors++;
    out.set(name, c);
  }
  return out;
}

/** Columns of the function charts, one row per time step (uPlot's data layout: x first, seconds). */
export interface StatSeries {
  t: number[];
  invocations: number[];
  errors: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  cold: number[];
  warm: number[];
  peakMemoryMb: (number | null)[];
}

function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

/** Buckets jobs by creation time into `stepSec` steps ending now. */
export function bucketJobs(jobs: Job[], windowSec: number, stepSec: number, now = Date.now()): StatSeries {
  const n = Math.ceil(windowSec / stepSec);
  const end = Math.ceil(now / 1000 / stepSec) * stepSec;
  const start = end - n * stepSec;
  const s: StatSeries = { t: [], invocations: [], errors: [], p50: [], p95: [], cold: [], warm: [], peakMemoryMb: [] };
  const durations: number[][] = [];
  const peaks: number[] = [];
  for (let i = 0; i < n; i++) {
    s.t.push(start + i * stepSec);
    s.invocations.push(0);
    s.errors.push(0);
    s.cold.push(0);
    s.warm.push(0);
    durations.push([]);
    peaks.push(0);
  }
  for (const j of jobs) {
    const i = Math.floor((new Date(j.created_at).getTime() / 1000 - start) / stepSec);
    if (i < 0 || i >= n) continue;
    s.invocations[i]!++;
    if (j.status === 'failed') s.errors[i]!++;
    if (j.start === 'cold') s.cold[i]!++;
    else if (j.start) s.warm[i]!++;
    if (j.execution_time_ms !== undefined) durations[i]!.push(j.execution_time_ms);
    if (j.peak_memory_bytes) peaks[i] = Math.max(peaks[i]!, j.peak_memory_bytes);
  }
  for (let i = 0; i < n; i++) {
    const d = durations[i]!.sort((a, b) => a - b);
    s.p50.push(quantile(d, 0.5));
    s.p95.push(quantile(d, 0.95));
    s.peakMemoryMb.push(peaks[i] ? peaks[i]! / 1024 / 1024 : null);
  }
  return s;
}
