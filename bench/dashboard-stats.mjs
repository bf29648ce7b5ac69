// What the dashboard's statistics cost, on memory, SQLite and Redis (when redis-server is installed):
// - per finished job: the statistics (StatsRecorder: merged in memory, one write) beside the publish of the same
//   job's final record, the baseline every job already pays;
// - per chart: reading one function's buckets from the counters (1 h and 24 h windows, 60 buckets)
//   beside the alternative, aggregating the same numbers from the job records (ResultSink.list pages).
// `node bench/dashboard-stats.mjs [jobs]` (default 5000, spread over the last 59 minutes: the window is whole minutes).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  STATS_TTL_MS,
  StatsRecorder,
  memoryResults,
  readFunctionStats,
  readStatsSummary,
  silentLogger,
  statsRange,
  statsUpdates,
} from '@nanogrid/core';
import { redisResults } from '@nanogrid/redis';
import { sqliteResults } from '@nanogrid/sqlite';
import { percentile, printTable } from './stats.mjs';

const jobs = Number(process.argv[2] ?? 5000);
const FUNCTIONS = 100;
const now = Date.now();

function record(i, fn) {
  const at = new Date(now - Math.floor(Math.random() * 3_540_000)).toISOString();
  return {
    job_id: `bench-${fn}-${i}`,
    function_id: fn,
    status: i % 20 === 0 ? 'failed' : 'completed',
    created_at: at,
    updated_at: at,
    finished_at: at,
    output_files: [],
    result: { ok: true, i },
    execution_time_ms: 5 + Math.random() * 200,
    peak_memory_bytes: 20e6 + Math.random() * 10e6,
    start: i % 3 === 0 ? 'cold' : 'warm',
  };
}

async function timed(n, fn) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const total = ms.reduce((a, b) => a + b, 0);
  return { n, median: percentile(ms, 50), p95: percentile(ms, 95), perSec: n / (total / 1000) };
}

/** The alternative: a chart's numbers from the job records, a page of 1000 at a time. */
async function fromRecords(results, fn, sinceMs) {
  const since = new Date(sinceMs).toISOString();
  let cursor;
  let n = 0;
  const durations = [];
  do {
    const page = await results.list({ function_id: fn, since, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const r of page.jobs) {
      n += 1;
      if (r.execution_time_ms !== undefined) durations.push(r.execution_time_ms);
    }
    cursor = page.next_cursor;
  } while (cursor);
  durations.sort((a, b) => a - b);
  return { n, p50: percentile(durations, 50) };
}

async function bench(name, results) {
  const fn = `fn-${Math.random().toString(36).slice(2, 8)}`;
  const records = Array.from({ length: jobs }, (_, i) => record(i, fn));
  for (const r of records) await results.create({ ...r, status: 'pending' });
  const publish = await timed(jobs, (i) => results.publish(records[i]));
  // What the worker does: record in memory, one write for the lot (timed with the records).
  const recorder = new StatsRecorder(results, silentLogger);
  const batched = await timed(1, async () => {
    for (const r of records) recorder.record(r);
    await recorder.stop();
  });
  const perJob = { n: jobs, median: batched.median / jobs, p95: Number.NaN, perSec: jobs / (batched.median / 1000) };
  // Unbatched, for comparison (into another function's counters).
  const other = records.map((r) => ({ ...r, function_id: `${fn}-unbatched` }));
  const bump = await timed(jobs, (i) => results.bumpCounters(statsUpdates(other[i]), STATS_TTL_MS));
  const counters = { readCounters: results.readCounters.bind(results) };
  const hour = await timed(50, () => readFunctionStats(counters, fn, statsRange(3600, 60, now)));
  const day = await timed(50, () => readFunctionStats(counters, fn, statsRange(86_400, 1440, now)));
  const check = await readFunctionStats(counters, fn, statsRange(3600, 60, now));
  const list = await timed(5, () => fromRecords(results, fn, now - 3_600_000));
  const listed = await fromRecords(results, fn, now - 3_600_000);
  if (check.totals.invocations !== jobs || listed.n !== jobs)
    throw new Error(`${name}: counted ${check.totals.invocations} / listed ${listed.n}, expected ${jobs}`);
  printTable(
    `${name}, per finished job (${jobs} jobs)`,
    [
      { name: 'publish the final record (baseline: every job pays it)', ...publish },
      { name: 'statistics as the worker records them (StatsRecorder, mean)', ...perJob },
      { name: 'statistics written per job, unbatched (bumpCounters)', ...bump },
    ],
    'publish the final record (baseline: every job pays it)',
  );
  printTable(
    `${name}, one chart of a function with ${jobs} jobs in the last hour`,
    [
      { name: '1 h aggregated from the job records (list, baseline)', ...list },
      { name: '1 h / 60 buckets from the counters', ...hour },
      { name: '24 h / 60 buckets from the counters', ...day },
    ],
    '1 h aggregated from the job records (list, baseline)',
  );
  // The functions list: FUNCTIONS functions that ran every minute of the last 24 h.
  const tag = Math.random().toString(36).slice(2, 8);
  for (let m = 0; m < 1440; m++) {
    const at = new Date(now - m * 60_000).toISOString();
    const updates = [];
    for (let f = 0; f < FUNCTIONS; f++)
      updates.push(...statsUpdates({ ...records[0], function_id: `${tag}-${f}`, finished_at: at }));
    await results.bumpCounters(updates, STATS_TTL_MS);
  }
  const sumHour = await timed(20, () => readStatsSummary(counters, statsRange(3600, 60, now)));
  const sumDay = await timed(5, () => readStatsSummary(counters, statsRange(86_400, 60, now)));
  printTable(
    `${name}, the functions list (GET /stats/functions) with ${FUNCTIONS} functions run every minute`,
    [
      { name: 'summary of 1 h (60 minute hashes)', ...sumHour },
      { name: 'summary of 24 h (24 hourly hashes + the minutes at the ends)', ...sumDay },
    ],
    'summary of 1 h (60 minute hashes)',
  );
  console.log(`p50 from counters ${check.totals.p50_ms} ms, exact ${listed.p50.toFixed(1)} ms`);
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const dir = await mkdtemp(join(tmpdir(), 'nanogrid-dashboard-bench-'));
let redis;
try {
  const mem = memoryResults();
  await bench('memory', mem);
  await mem.close();
  const sqlite = sqliteResults({ file: join(dir, 'results.db') });
  await bench('sqlite', sqlite);
  await sqlite.close();
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const started = await new Promise((resolve) => {
    redis.once('error', () => resolve(false));
    setTimeout(() => resolve(true), 300);
  });
  if (started) {
    const r = redisResults({ connection: `redis://127.0.0.1:${port}` });
    await bench('redis (local, loopback)', r);
    await r.close();
  } else console.log('\nredis: redis-server not installed, skipped');
} finally {
  redis?.kill();
  await rm(dir, { recursive: true, force: true });
}
