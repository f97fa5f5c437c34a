/**
 * The expected band over time, recomputed from the stored values (so it covers all history and
 * survives restarts without storing anything): per bucket, the median of the previous `window`
 * buckets' averages ± `k` robust deviations (1.4826 · MAD, at least the typical half-range of
 * those buckets, so a flat but noisy series still gets a band). A bucket is compared only with
 * buckets before it, as a detector sees its data. Deterministic: same points, same band.
 */

export const BAND_WINDOW = 30;
export const BAND_K = 3;
/** Buckets of history needed before a bucket gets a band. */
export const BAND_MIN_HISTORY = 8;

export interface BandInput {
  /** Bucket start times (ms), ascending. */
  readonly times: ArrayLike<number>;
  readonly avg: ArrayLike<number>;
  readonly min: ArrayLike<number>;
  readonly max: ArrayLike<number>;
}

export interface BandColumns {
  readonly times: number[];
  /** Null where the bucket has too little history before it. */
  readonly expected: (number | null)[];
  readonly lower: (number | null)[];
  readonly upper: (number | null)[];
}

/** The median of a sorted array. */
function median(sorted: Float64Array): number {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `values` copied into `into` (sized to fit) and sorted: typed arrays sort numerically, fast. */
function sortedCopy(values: readonly number[], into: Float64Array): Float64Array {
  const out = into.subarray(0, values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] as number;
  return out.sort();
}

/** The band of each bucket at or after `from` (earlier buckets only warm the window up). */
export function expectedBand(
  input: BandInput,
  from: number,
  window = BAND_WINDOW,
  k = BAND_K,
): BandColumns {
  const out: BandColumns = { times: [], expected: [], lower: [], upper: [] };
  const avgs: number[] = [];
  const halves: number[] = [];
  const scratch = new Float64Array(window + 1);
  const deviations: number[] = new Array<number>(window + 1).fill(0);
  for (let i = 0; i < input.times.length; i++) {
    const t = input.times[i] as number;
    const avg = input.avg[i] as number;
    if (t >= from) {
      out.times.push(t);
      if (avgs.length >= BAND_MIN_HISTORY) {
        const m = median(sortedCopy(avgs, scratch));
        for (let j = 0; j < avgs.length; j++) deviations[j] = Math.abs((avgs[j] as number) - m);
        const mad = median(sortedCopy(deviations.slice(0, avgs.length), scratch));
        const half = median(sortedCopy(halves, scratch));
        const scale = Math.max(1.4826 * mad, half, 1e-9 * Math.max(1, Math.abs(m)));
        out.expected.push(m);
        out.lower.push(m - k * scale);
        out.upper.push(m + k * scale);
      } else {
        out.expected.push(null);
        out.lower.push(null);
        out.upper.push(null);
      }
    }
    // Buckets holding only missing values do not count.
    if (!Number.isFinite(avg)) continue;
    avgs.push(avg);
    const lo = input.min[i] as number;
    const hi = input.max[i] as number;
    halves.push(Number.isFinite(lo) && Number.isFinite(hi) ? (hi - lo) / 2 : 0);
    if (avgs.length > window) {
      avgs.shift();
      halves.shift();
    }
  }
  return out;
}
