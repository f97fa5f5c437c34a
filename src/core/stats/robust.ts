/**
 * Robust location and scale (median, MAD) and order-statistic selection on Float64Arrays.
 * Selection is O(n) on average (Hoare quickselect with a median-of-three pivot), which is what
 * lets the seasonal ESD detector refit its residual scale often without sorting.
 * Functions named `...InPlace` reorder the prefix of the array they are given.
 */

/** Factor that turns a MAD into a consistent estimate of the standard deviation under normality. */
export const MAD_TO_STD = 1.4826;

/** Reorder `a[lo..hi]` so that `a[k]` holds the value it would have if the range were sorted. */
export function selectInPlace(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median-of-three pivot keeps sorted and reversed inputs from going quadratic.
    if ((a[mid] as number) < (a[lo] as number)) swap(a, mid, lo);
    if ((a[hi] as number) < (a[lo] as number)) swap(a, hi, lo);
    if ((a[hi] as number) < (a[mid] as number)) swap(a, hi, mid);
    const pivot = a[mid] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] as number;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i] as number;
  a[i] = a[j] as number;
  a[j] = t;
}

/** Median of `a[0..n)`, reordering that prefix; NaN when n = 0. */
export function medianInPlace(a: Float64Array, n = a.length): number {
  if (n <= 0) return NaN;
  const half = n >>> 1;
  const upper = selectInPlace(a, half, 0, n - 1);
  if (n % 2 === 1) return upper;
  // After selection everything left of `half` is <= upper: the lower middle is their maximum.
  let lower = a[0] as number;
  for (let i = 1; i < half; i++) if ((a[i] as number) > lower) lower = a[i] as number;
  return (lower + upper) / 2;
}

/** Median of the values, leaving them untouched (copies into `scratch` when it is big enough). */
export function median(values: ArrayLike<number>, scratch?: Float64Array): number {
  const n = values.length;
  const a = scratch && scratch.length >= n ? scratch : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = values[i] as number;
  return medianInPlace(a, n);
}

/**
 * Median absolute deviation of `values[0..n)` around `center` (raw, not scaled by MAD_TO_STD).
 * `scratch` (length >= n) receives the absolute deviations.
 */
export function medianAbsoluteDeviation(
  values: ArrayLike<number>,
  center: number,
  scratch: Float64Array,
  n = values.length,
): number {
  for (let i = 0; i < n; i++) scratch[i] = Math.abs((values[i] as number) - center);
  return medianInPlace(scratch, n);
}

/**
 * Leave the k largest of `a[0..n)` in `a[n-k..n)` sorted in descending order starting at n - 1,
 * i.e. `a[n-1]` is the maximum, `a[n-2]` the runner-up, ... Reorders the prefix.
 */
export function largestInPlace(a: Float64Array, n: number, k: number): void {
  const m = Math.min(k, n);
  if (m <= 0) return;
  if (m < n) selectInPlace(a, n - m, 0, n - 1);
  a.subarray(n - m, n).sort();
}
