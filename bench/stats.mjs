// Small helpers of the benchmarks: timing, percentiles, the table.

/** Milliseconds of `fn`, as a high-resolution float. */
export async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Runs `fn` `n` times one after the other; returns { n, median, p95 } in ms. */
export async function sample(n, fn, warmup = 0) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const ms = [];
  for (let i = 0; i < n; i++) ms.push(await time(() => fn(i)));
  ms.sort((a, b) => a - b);
  return { n, median: percentile(ms, 50), p95: percentile(ms, 95) };
}

/** `clients` loops sending requests until `total` are done; returns invocations per second. */
export async function throughput(clients, total, fn) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        next++;
        await fn();
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const fmt = (v) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(2)) : '—');
/** The scenario column: at least 68 wide, wider when a row's name is longer (so the columns stay aligned). */
const nameWidth = (rows) => Math.max(68, ...rows.map((r) => r.name.length));

/**
 * Prints rows of { name, n, median, p95, perSec, baseline } with ratios against the named baseline row.
 * `cost: true`: the median column is a cost (CPU per call): the ratio is "× the baseline's CPU".
 */
export function printTable(title, rows, baselineName, { cost = false } = {}) {
  const base = rows.find((r) => r.name === baselineName);
  const w = nameWidth(rows);
  console.log(`\n${title}`);
  console.log(
    `${'scenario'.padEnd(w)} ${'n'.padStart(6)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(9)} ${'per s'.padStart(8)}  vs baseline`,
  );
  console.log('-'.repeat(w + 52));
  for (const r of rows) {
    let ratio = '';
    if (base && r !== base) {
      const x = r.perSec / base.perSec;
      if (r.perSec && base.perSec) ratio = `${x.toFixed(x < 10 ? 2 : 1)}× throughput`;
      else if (r.median && base.median && cost) ratio = `${(r.median / base.median).toFixed(2)}× the baseline's CPU`;
      else if (r.median && base.median) {
        // A time: "faster" above 1, "slower" below (never "0.8× faster").
        const f = base.median / r.median;
        ratio = f >= 1 ? `${f.toFixed(1)}× faster (median)` : `${(1 / f).toFixed(1)}× slower (median)`;
      }
    } else if (r === base) ratio = '(baseline)';
    console.log(
      `${r.name.padEnd(w)} ${String(r.n ?? '').padStart(6)} ${fmt(r.median).padStart(10)} ${fmt(r.p95).padStart(9)} ${fmt(r.perSec).padStart(8)}  ${ratio}`,
    );
  }
}

/** `ratio` with enough decimals that the printed number agrees with `met` against `bound` (no "0.30 ≥ 0.3 no"). */
function shownRatio(ratio, bound, atMost) {
  for (let digits = 2; digits < 6; digits++) {
    const shown = Number(ratio.toFixed(digits));
    if ((atMost ? shown <= bound : shown >= bound) === (atMost ? ratio <= bound : ratio >= bound))
      return ratio.toFixed(digits);
  }
  return String(ratio);
}

/**
 * Rows of { name, value, floor, unit, ratio?, max?, min? }: a measurement beside the floor measured next to it.
 * `max`: the value may be at most that many times the floor (latency); `min`: at least that share of it
 * (throughput), or, for a time (`unit: 'ms'`), at least that many times faster than the floor (first call).
 */
export function printTargets(rows) {
  const w = nameWidth(rows);
  console.log('\nAgainst the floor (a bare node:http server answering JSON to the same client, measured just before)');
  console.log(
    'ratio: latency as × the floor (lower is better); first call as × faster than its floor; throughput as a share of the floor',
  );
  console.log(
    `${'scenario'.padEnd(w)} ${'measured'.padStart(10)} ${'floor'.padStart(10)} ${'ratio'.padStart(14)}  ${'target'.padEnd(12)}  met`,
  );
  console.log('-'.repeat(w + 56));
  for (const r of rows) {
    const ratio = r.ratio ?? r.value / r.floor;
    const atMost = r.max !== undefined;
    const bound = atMost ? r.max : r.min;
    const faster = !atMost && r.unit === 'ms';
    const suffix = atMost ? '×' : faster ? '× faster' : '';
    const target = `${atMost ? '≤' : '≥'} ${bound}${suffix}`;
    const met = atMost ? ratio <= bound : ratio >= bound;
    console.log(
      `${r.name.padEnd(w)} ${`${fmt(r.value)} ${r.unit}`.padStart(10)} ${`${fmt(r.floor)} ${r.unit}`.padStart(10)} ${`${shownRatio(ratio, bound, atMost)}${suffix}`.padStart(14)}  ${target.padEnd(12)}  ${met ? 'yes' : 'no'}`,
    );
  }
}
