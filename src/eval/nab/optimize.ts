import type { CostMatrix } from './corpus.js';
import { pyDictOrder } from './pydict.js';
import { bestEntry, curveScore } from './sweep.js';
import type { SweepCurve } from './sweep.js';

/**
 * How `scoreCorpus` picks each profile's threshold:
 * - `'exhaustive'`: every distinct anomaly score is tried (NAB's optimiser since it replaced the
 *   step search); the global optimum, ties going to the highest threshold.
 * - `'nab'`: NAB's original step search (`twiddle`, see `twiddle`), a local hill climb from 0.5.
 *   It produced the thresholds that numenta's published scores were computed at, and can stop
 *   short of the optimum: it never scores more than `'exhaustive'`.
 */
export type OptimizerName = 'nab' | 'exhaustive';

export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['nab', 'exhaustive'];

/** The optimiser `scoreCorpus` uses when none is given. */
export const DEFAULT_OPTIMIZER: OptimizerName = 'exhaustive';

/** The parameters NAB's optimiser ran `twiddle` with. */
export const NAB_TWIDDLE = {
  initialGuess: 0.5,
  initialDelta: 0.1,
  tolerance: 1e-7,
  domain: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
} as const;

export interface TwiddleOptions {
  /** First point evaluated. */
  readonly initialGuess?: number;
  /** First step; it doubles after each improvement and halves after each failed pair of probes. */
  readonly initialDelta?: number;
  /** The search stops once the step is no longer above this. */
  readonly tolerance?: number;
  /** `[min, max]`: a step that would leave it is cut to half the distance to the edge. */
  readonly domain?: readonly [number, number];
}

export interface TwiddleResult {
  /** The evaluated point with the best value (see `twiddle` for ties). */
  readonly x: number;
  readonly value: number;
  /** Distinct points evaluated (each is evaluated once). */
  readonly evaluations: number;
}

/**
 * Maximise `objective` over one parameter with NAB's step search (the `twiddle` of its original
 * `optimizer.py`; defaults are NAB's). From `x` with step `delta`, try `x + delta`; if that is
 * strictly better, move there and double the step; otherwise try `x - delta`, likewise; if neither
 * is strictly better, stay and halve the step. Stop when the step is not above the tolerance.
 * Points are evaluated once each (memoised by exact value) and the arithmetic on `x` is kept as
 * is, rounding included, since the published thresholds carry it.
 *
 * The result is the best of all evaluated points. When several tie, it is the one a CPython 2 dict
 * of the evaluated points lists first (NAB took `max` over such a dict), which is what makes the
 * published thresholds come out to the last bit; the value is the same for all of them.
 */
export function twiddle(
  objective: (x: number) => number,
  options: TwiddleOptions = {},
): TwiddleResult {
  const tolerance = options.tolerance ?? NAB_TWIDDLE.tolerance;
  const [lo, hi] = options.domain ?? NAB_TWIDDLE.domain;
  let x = options.initialGuess ?? NAB_TWIDDLE.initialGuess;
  let delta = options.initialDelta ?? NAB_TWIDDLE.initialDelta;
  if (!(tolerance > 0)) throw new Error(`twiddle: tolerance must be positive, got ${tolerance}`);
  if (!(delta > 0)) throw new Error(`twiddle: initial step must be positive, got ${delta}`);

  const seen = new Map<number, number>();
  const order: number[] = [];
  const valueAt = (p: number): number => {
    let v = seen.get(p);
    if (v === undefined) {
      v = objective(p);
      seen.set(p, v);
      order.push(p);
    }
    return v;
  };

  let best = valueAt(x);
  while (delta > tolerance) {
    if (x + delta > hi) delta = Math.abs(hi - x) / 2;
    x += delta;
    let v = valueAt(x);
    if (v > best) {
      best = v;
      delta *= 2;
      continue;
    }
    if (x - delta < lo) delta = Math.abs(lo - x) / 2;
    x -= 2 * delta;
    v = valueAt(x);
    if (v > best) {
      best = v;
      delta *= 2;
    } else {
      x += delta;
      delta *= 0.5;
    }
  }

  // First maximum in the order the original's dict iterated (strict `>`, as Python's `max`).
  let bestX = Number.NaN;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const p of pyDictOrder(order)) {
    const v = seen.get(p) as number;
    if (Number.isNaN(bestX) || v > bestValue) {
      bestX = p;
      bestValue = v;
    }
  }
  return { x: bestX, value: bestValue, evaluations: order.length };
}

/**
 * The curve entry that scores threshold `x`: the last (lowest-threshold) entry whose threshold is
 * `>= x`, i.e. every row scoring at least `x` detected; entry 0 (nothing detected) when `x` is
 * above every score. O(log n) by binary search in the descending thresholds.
 */
export function entryAtThreshold(curve: SweepCurve, x: number): number {
  const t = curve.thresholds;
  if (!((t[0] as number) >= x)) return 0;
  let lo = 0;
  let hi = t.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((t[mid] as number) >= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * NAB's objective for the step search: the corpus raw score when rows scoring `>= x` are
 * detections, and `-Infinity` for thresholds outside `[0, 1]`.
 */
export function sweepObjective(curve: SweepCurve, cost: CostMatrix): (x: number) => number {
  return (x) =>
    0 <= x && x <= 1 ? curveScore(curve, entryAtThreshold(curve, x), cost) : -Infinity;
}

/** The threshold `optimizer` picks for one profile, from the corpus-wide sweep. */
export function optimizeThreshold(
  curve: SweepCurve,
  cost: CostMatrix,
  optimizer: OptimizerName,
): number {
  switch (optimizer) {
    case 'exhaustive':
      return curve.thresholds[bestEntry(curve, cost)] as number;
    case 'nab':
      return twiddle(sweepObjective(curve, cost), NAB_TWIDDLE).x;
    default:
      throw new Error(`unknown threshold optimizer "${String(optimizer)}" (nab or exhaustive)`);
  }
}
