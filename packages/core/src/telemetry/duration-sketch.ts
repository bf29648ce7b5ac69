/**
 * Durations as counts in log-scale bins (4 per doubling, so a bin spans ~19%):
 * counts of bins add up across jobs, minutes and controllers, and a
 * percentile read from them is within ~10% of the exact one, whatever the
 * number of jobs. Bin 0 holds 0-1 ms; bin b holds (2^((b-1)/4), 2^(b/4)] ms.
 */
const PER_DOUBLING = 4;
/** 2^(120/4) ms is about 12 days: longer runs land in the last bin. */
export const MAX_DURATION_BIN = 120;

/** Field names of the bins, made once (a finished job names one). */
const BIN_FIELDS = Array.from({ length: MAX_DURATION_BIN + 1 }, (_, bin) => `d${bin}`);

/** Field name of a bin in a counter hash. */
export const binField = (bin: number): string => BIN_FIELDS[bin] ?? `d${bin}`;

export function durationBin(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(MAX_DURATION_BIN, Math.ceil(Math.log2(ms) * PER_DOUBLING));
}

/** A bin's value when read back: the geometric middle of its bounds (0.5 ms for bin 0). */
export function binValue(bin: number): number {
  if (bin <= 0) return 0.5;
  return 2 ** ((bin - 0.5) / PER_DOUBLING);
}

/** Adds bin counts read from a counter hash (`d{bin}` fields) into `into`. */
export function addBins(into: Map<number, number>, counters: Record<string, number>): void {
  for (const [field, n] of Object.entries(counters)) {
    if (field.length < 2 || field[0] !== 'd') continue;
    const bin = Number(field.slice(1));
    if (Number.isInteger(bin) && bin >= 0 && bin <= MAX_DURATION_BIN && n > 0) into.set(bin, (into.get(bin) ?? 0) + n);
  }
}

/** The q-quantile (0 < q ≤ 1) of the binned durations, ms rounded to 0.1; null when there are none. */
export function quantile(bins: Map<number, number>, q: number): number | null {
  let total = 0;
  for (const n of bins.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const bin of [...bins.keys()].sort((a, b) => a - b)) {
    seen += bins.get(bin) ?? 0;
    if (seen >= rank) return Math.round(binValue(bin) * 10) / 10;
  }
  return null;
}
