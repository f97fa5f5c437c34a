/**
 * Robust location and scale (median, MAD) and order-statistic selection on Float64Arrays.
 * Selection is O(n) on average (Hoare quickselect with a median-of-three pivot), which is what
 * lets the seasonal ESD detector refit its residual scale often without sorting.
 * Functions named `...InPlace` reorder the prefix of the array they are given.
 */

import { VigilError } from '../../errors.js';

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

/**
 * Floors under a spread estimate, learned from the series' own readings. A short window's spread
 * can collapse — a flat stretch, integer or rounded readings, a sensor that sits still — and
 * dividing by it turns the smallest change into an unbounded statistic that outranks every real
 * anomaly. Two scales of the series itself bound it from below:
 *
 * - **resolution**: the smallest non-zero step between consecutive readings (the quantum of integer
 *   or rounded data). A reading is only known to ±resolution / 2, so no spread below that is
 *   trusted: from a flat window, a one-quantum change is 2 floors, not infinitely many.
 * - **typical step**: the long-run mean |x_t − x_{t−1}| (equal weights over the first `horizon`
 *   steps, then exponentially weighted with weight 1 / horizon so it follows a change of regime).
 *   For white noise of standard deviation σ it is 2σ/√π ≈ 1.13σ, so a quarter of it is ≈ 0.28σ: a
 *   window of ten or more points of that same noise practically never has a spread that small, so
 *   this floor only engages once the window has collapsed relative to how the series usually moves.
 *
 * Both are in the data's units and scale with it, so the statistic stays unit-free.
 */
export interface StepScaleState {
  /** Last reading; null before the first. */
  readonly last: number | null;
  /** Smallest non-zero |step| seen; 0 = none yet. */
  readonly resolution: number;
  readonly meanStep: number;
  /** Steps averaged so far (capped at the horizon). */
  readonly steps: number;
}

/** Share of the resolution under which no spread is trusted (readings are ±half a quantum). */
export const RESOLUTION_FLOOR = 0.5;
/** Share of the typical step under which no spread is trusted (≈ 0.28σ on white noise). */
export const TYPICAL_STEP_FLOOR = 0.125;

export class StepScale {
  readonly horizon: number;
  private last: number | null = null;
  private resolution = 0;
  private meanStep = 0;
  private steps = 0;

  constructor(horizon = 1000) {
    if (!(horizon >= 1)) throw new RangeError(`StepScale: horizon must be >= 1, got ${horizon}`);
    this.horizon = horizon;
  }

  static fromState(state: StepScaleState, horizon?: number): StepScale {
    const s = new StepScale(horizon);
    if (!(state.resolution >= 0 && state.meanStep >= 0 && state.steps >= 0)) {
      throw new VigilError('VIGIL_ERR_STORE_INVALID', 'StepScale: inconsistent state');
    }
    s.last = state.last;
    s.resolution = state.resolution;
    s.meanStep = state.meanStep;
    s.steps = Math.min(state.steps, s.horizon);
    return s;
  }

  state(): StepScaleState {
    return {
      last: this.last,
      resolution: this.resolution,
      meanStep: this.meanStep,
      steps: this.steps,
    };
  }

  /** Learn a finite reading. */
  update(x: number): void {
    if (this.last !== null) {
      const step = Math.abs(x - this.last);
      // Overflow (steps beyond ±1.8e308) would poison the average; such a step is skipped.
      if (Number.isFinite(step)) {
        if (step > 0 && (this.resolution === 0 || step < this.resolution)) this.resolution = step;
        if (this.steps < this.horizon) this.steps++;
        this.meanStep += (step - this.meanStep) / this.steps;
      }
    }
    this.last = x;
  }

  /** max(resolution × RESOLUTION_FLOOR, typical step × TYPICAL_STEP_FLOOR); 0 before any step. */
  get floor(): number {
    return Math.max(this.resolution * RESOLUTION_FLOOR, this.meanStep * TYPICAL_STEP_FLOOR);
  }
}

/** Smallest non-zero |values[j] − values[j−1]| over `values[0..n)`; 0 when there is none. */
export function stepResolution(values: ArrayLike<number>, n = values.length): number {
  let q = Infinity;
  for (let j = 1; j < n; j++) {
    const step = Math.abs((values[j] as number) - (values[j - 1] as number));
    if (step > 0 && step < q) q = step;
  }
  return q < Infinity ? q : 0;
}
