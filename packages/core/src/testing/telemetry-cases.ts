import { expect, it } from 'vitest';
import type { ResultSink } from '../plugins/result-sink.js';
import type { HostInfo } from '../telemetry/host-info.js';
import { readFunctionStats, readStatsSummary, statsRange, statsUpdates } from '../telemetry/job-stats.js';
import { eventually, sampleRecord, uniqueId } from './helpers.js';

const host = (id: string, over: Partial<HostInfo> = {}): HostInfo => ({
  id,
  role: 'worker',
  hostname: 'h1',
  pid: 42,
  started_at: new Date().toISOString(),
  last_seen: new Date().toISOString(),
  version: '0.0.0',
  sandbox: { name: 'process', isolated: true },
  ...over,
});

/** Counters (the per-minute statistics) and presence heartbeats: exact sums under concurrency, maxima, TTLs. */
export function telemetryCases(sink: () => ResultSink, slackMs: number): void {
  it('counters: concurrent adds sum exactly, max keeps the largest, unknown keys read {}', async () => {
    const s = sink();
    const [a, b] = [uniqueId('ctr'), uniqueId('ctr')];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        s.bumpCounters!([{ key: a, add: { n: 1, err: i % 4 === 0 ? 1 : 0 }, max: { mem: i * 1000 } }], 60_000),
      ),
    );
    await s.bumpCounters!(
      [
        { key: b, add: { n: 2.5 } },
        { key: a, max: { mem: 5 } },
      ],
      60_000,
    );
    expect(await s.readCounters!([b, uniqueId('never'), a])).toEqual([{ n: 2.5 }, {}, { n: 40, err: 10, mem: 39_000 }]);
    expect(await s.readCounters!([])).toEqual([]);
  });

  it('counters: a read of 1500 keys (a 24 h window and more) keeps their order', async () => {
    const s = sink();
    const base = uniqueId('many');
    const keys = Array.from({ length: 1500 }, (_, i) => `${base}:${i}`);
    const written = [0, 499, 500, 501, 999, 1000, 1499];
    await s.bumpCounters!(
      written.map((i) => ({ key: keys[i]!, add: { n: i + 1 } })),
      60_000,
    );
    const read = await s.readCounters!(keys);
    expect(read).toHaveLength(1500);
    expect(read.flatMap((c, i) => (c.n === undefined ? [] : [[i, c.n]]))).toEqual(written.map((i) => [i, i + 1]));
  });

  it('counters: hostile keys and field names are plain data', async () => {
    const s = sink();
    const keys = [`${uniqueId('k')} {tag}*?[x]\n\u00fc`, `${uniqueId('k')}:__proto__`];
    const fields = { __proto__x: 1, constructor: 2, toString: 3, 'a|b c': 4, '': 5 };
    await s.bumpCounters!(
      [
        { key: keys[0]!, add: fields },
        { key: keys[1]!, add: { hasOwnProperty: 7 } },
      ],
      60_000,
    );
    const [first, second] = await s.readCounters!(keys);
    expect(first).toEqual(fields);
    expect(second).toEqual({ hasOwnProperty: 7 });
  });

  it('counters expire ttlMs after their last write; a later write starts again from zero', async () => {
    const s = sink();
    const k = uniqueId('ttl');
    await s.bumpCounters!([{ key: k, add: { n: 3 }, max: { mem: 9 } }], 300);
    expect(await s.readCounters!([k])).toEqual([{ n: 3, mem: 9 }]);
    await eventually(async () => expect(await s.readCounters!([k])).toEqual([{}]), 3000 + slackMs);
    await s.bumpCounters!([{ key: k, add: { n: 1 }, max: { mem: 2 } }], 60_000);
    expect(await s.readCounters!([k])).toEqual([{ n: 1, mem: 2 }]);
  });

  it('job statistics round trip: finished records read back as buckets, totals and the summary', async () => {
    const s = sink();
    const fn = uniqueId('fn-stats');
    const now = Date.now();
    const at = new Date(now).toISOString();
    const records = [
      sampleRecord({ function_id: fn, status: 'completed', finished_at: at, execution_time_ms: 10, start: 'cold' }),
      sampleRecord({ function_id: fn, status: 'completed', finished_at: at, execution_time_ms: 12, start: 'warm' }),
      sampleRecord({
        function_id: fn,
        status: 'failed',
        finished_at: at,
        execution_time_ms: 900,
        peak_memory_bytes: 3 * 1048576,
      }),
      sampleRecord({ function_id: fn, status: 'cancelled', finished_at: at }),
    ];
    for (const r of records) await s.bumpCounters!(statsUpdates(r), 60_000);
    const range = statsRange(600, 120, now);
    const { buckets, totals } = await readFunctionStats({ readCounters: s.readCounters!.bind(s) }, fn, range);
    expect(buckets).toHaveLength(5);
    expect(totals).toMatchObject({ invocations: 3, errors: 1, cold: 2, warm: 1, peak_memory_mb: 3 });
    // Binned: within ~10% of the exact median (12 ms) and p95 (900 ms).
    expect(Math.abs((totals.p50_ms ?? 0) - 12) / 12).toBeLessThan(0.1);
    expect(Math.abs((totals.p95_ms ?? 0) - 900) / 900).toBeLessThan(0.1);
    expect(buckets.at(-1)).toMatchObject({ invocations: 3 });
    const summary = await readStatsSummary({ readCounters: s.readCounters!.bind(s) }, range);
    expect(summary.get(fn)).toEqual({ invocations: 3, errors: 1 });
  });

  it('presence: hosts are listed, a new beat replaces the entry, a silent host disappears after its TTL', async () => {
    const s = sink();
    const [a, b] = [uniqueId('host'), uniqueId('host')];
    await s.heartbeat!(host(a), 60_000);
    await s.heartbeat!(host(b, { role: 'controller' }), 300);
    await s.heartbeat!(host(a, { in_flight: 3 }), 60_000);
    const mine = (hosts: HostInfo[]) =>
      hosts.filter((h) => h.id === a || h.id === b).sort((x, y) => x.role.localeCompare(y.role));
    expect(mine(await s.hosts!())).toMatchObject([
      { id: b, role: 'controller' },
      { id: a, in_flight: 3 },
    ]);
    await eventually(async () => expect(mine(await s.hosts!()).map((h) => h.id)).toEqual([a]), 3000 + slackMs);
  });
}
