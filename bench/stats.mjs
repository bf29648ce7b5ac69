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

/** Prints rows of { name, n, median, p95, perSec, baseline } with ratios against the named baseline row. */
export function printTable(title, rows, baselineName) {
  const base = rows.find((r) => r.name === baselineName);
  console.log(`\n${title}`);
  console.log(
    `${'scenario'.padEnd(68)} ${'n'.padStart(6)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(9)} ${'per s'.padStart(8)}  vs baseline`,
  );
  console.log('-'.repeat(120));
  for (const r of rows) {
    let ratio = '';
    if (base && r !== base) {
      const x = r.perSec / base.perSec;
      if (r.perSec && base.perSec) ratio = `${x.toFixed(x < 10 ? 2 : 1)}× throughput`;
      else if (r.median && base.median) ratio = `${(base.median / r.median).toFixed(1)}× faster (median)`;
    } else if (r === base) ratio = '(baseline)';
    console.log(
      `${r.name.padEnd(68)} ${String(r.n ?? '').padStart(6)} ${fmt(r.median).padStart(10)} ${fmt(r.p95).padStart(9)} ${fmt(r.perSec).padStart(8)}  ${ratio}`,
    );
  }
}

/**
 * Rows of { name, value, floor, unit, ratio?, max?, min? }: a measurement beside the floor measured next to it.
 * `max`: the value may be at most that many times the floor (latency); `min`: at least that share of it (throughput).
 */
export function printTargets(rows) {
  console.log('\nAgainst the floor (a bare node:http server answering JSON to the same client, measured just before)');
  console.log(
    `${'scenario'.padEnd(68)} ${'measured'.padStart(10)} ${'floor'.padStart(10)} ${'ratio'.padStart(7)}  target  met`,
  );
  console.log('-'.repeat(120));
  for (const r of rows) {
    const ratio = r.ratio ?? r.value / r.floor;
    const target = r.max !== undefined ? `≤ ${r.max}×` : `≥ ${r.min}`;
    const met = r.max !== undefined ? ratio <= r.max : ratio >= r.min;
    console.log(
      `${r.name.padEnd(68)} ${`${fmt(r.value)} ${r.unit}`.padStart(10)} ${`${fmt(r.floor)} ${r.unit}`.padStart(10)} ${ratio.toFixed(2).padStart(7)}  ${target.padEnd(6)}  ${met ? 'yes' : 'no'}`,
    );
  }
}
