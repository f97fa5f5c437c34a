import { z } from 'zod';
import { PeaksOverThreshold, PeaksOverThreshold32 } from './peaks-over-threshold.js';
import type { PeaksOverThresholdState } from './peaks-over-threshold.js';

/**
 * Two-sided CUSUM (Page's test) of a standardised residual: evidence of a sustained shift that no
 * single point shows, such as a level change that stays inside the usual range of values.
 *
 * Each residual is divided by its running scale (mean |r| times sqrt(pi / 2), the standard
 * deviation of a normal residual) and clipped at ±`clip`, so one spike moves the sums by a bounded
 * step (spikes are other evidence's business). The sums S+ = max(0, S+ + z - k) and
 * S- = max(0, S- - z - k) accumulate only deviations larger than k standard deviations. Real
 * residuals are autocorrelated and heavy-tailed, so no textbook law gives the sums' tail: it is
 * fitted on the sums themselves (peaks over threshold, K largest), and the fit is calibrated
 * online like the owner's other pieces (how often it reaches `calibrationLog10p` versus how often
 * it should). A sum whose surprise reaches `resetLog10p` starts again from 0, as in Page's test: a
 * lasting shift raises one alarm, then the residual model absorbs it.
 *
 * State lives in the owner's buffers (`SCALARS` float64 slots, `tailSize` float32 slots): a
 * handful of numbers per series.
 */
export const cusumStateSchema = z.object({
  plus: z.number().nonnegative(),
  minus: z.number().nonnegative(),
  scale: z.number().nonnegative(),
  seen: z.int().nonnegative(),
  scored: z.int().nonnegative(),
  exceedances: z.int().nonnegative(),
  tail: z.object({
    heap: z.array(z.number()),
    sum: z.number(),
    seen: z.int().nonnegative(),
  }),
});

export type CusumState = z.infer<typeof cusumStateSchema>;

/** Standard deviation over mean |r| for a normal residual. */
const SD_PER_MEAN_ABS = Math.sqrt(Math.PI / 2);

const PLUS = 0;
const MINUS = 1;
const SCALE = 2;
const SEEN = 3;
const SCORED = 4;
const EXCEEDANCES = 5;
const OWN = 6;

export interface CusumParams {
  /** Allowance per point, in standard deviations: only deviations beyond k accumulate. */
  readonly k: number;
  /** Cap on |z| per point, in standard deviations. */
  readonly clip: number;
  /** Weight floor of the residual scale (1 / its memory in points). */
  readonly scaleAlpha: number;
  /** -log10 p at which the sums restart from 0 (the alarm has been given). */
  readonly resetLog10p: number;
  /** Calibration level (-log10 p, its nominal frequency 10^-it); 0 turns calibration off. */
  readonly calibrationLog10p: number;
  /** Pseudo-count of the calibration ratio. */
  readonly calibrationPrior: number;
  /** K of the sums' tail. */
  readonly tailSize: number;
  /** Frequency cap of the tail (see `PeaksOverThreshold.surprise`). */
  readonly tailMinCount: number;
}

export class ResidualCusum {
  /** Float64 slots taken in the owner's store. */
  static readonly SCALARS = OWN + PeaksOverThreshold32.SCALARS;

  private readonly tail: PeaksOverThreshold;
  private readonly nominal: number;

  /**
   * @param store, offset: `SCALARS` zero-filled float64 slots; @param heap, heapOffset:
   *   `params.tailSize` float32 slots.
   */
  constructor(
    readonly params: CusumParams,
    private readonly store: Float64Array,
    private readonly offset: number,
    heap: Float32Array,
    heapOffset: number,
    state?: CusumState,
  ) {
    this.tail = new PeaksOverThreshold32(
      params.tailSize,
      state?.tail,
      0,
      store,
      offset + OWN,
      heap,
      heapOffset,
    );
    this.nominal = Math.pow(10, -params.calibrationLog10p);
    if (state) {
      store[offset + PLUS] = state.plus;
      store[offset + MINUS] = state.minus;
      store[offset + SCALE] = state.scale;
      store[offset + SEEN] = state.seen;
      store[offset + SCORED] = state.scored;
      store[offset + EXCEEDANCES] = state.exceedances;
    }
  }

  /** -log10 p of the larger sum after `residual` (signed), calibrated; 0 while unknown. Read-only. */
  surprise(residual: number): number {
    const raw = this.rawSurprise(residual);
    if (!(raw > 0) || !(this.params.calibrationLog10p > 0)) return raw;
    const s = this.store;
    const prior = this.params.calibrationPrior;
    const expected = (s[this.offset + SCORED]! + 1) * this.nominal;
    const c = Math.log10((s[this.offset + EXCEEDANCES]! + prior) / (expected + prior));
    return c > 0 ? (raw > c ? raw - c : 0) : raw;
  }

  /** Learns `residual` (signed; NaN is skipped); `scoring`: the owner scores this point. */
  learn(residual: number, scoring: boolean): void {
    if (residual !== residual) return;
    const s = this.store;
    const o = this.offset;
    if (s[o + SCALE]! > 0) {
      const alarmed = this.surprise(residual) >= this.params.resetLog10p;
      if (scoring && this.params.calibrationLog10p > 0) {
        s[o + SCORED]!++;
        if (this.rawSurprise(residual) >= this.params.calibrationLog10p) s[o + EXCEEDANCES]!++;
      }
      const z = this.z(residual);
      const k = this.params.k;
      s[o + PLUS] = alarmed ? 0 : Math.max(0, s[o + PLUS]! + z - k);
      s[o + MINUS] = alarmed ? 0 : Math.max(0, s[o + MINUS]! - z - k);
      this.tail.add(Math.max(s[o + PLUS]!, s[o + MINUS]!));
    }
    const seen = ++s[o + SEEN]!;
    s[o + SCALE]! +=
      (Math.abs(residual) - s[o + SCALE]!) / Math.min(seen, 1 / this.params.scaleAlpha);
  }

  state(): CusumState {
    const s = this.store;
    const o = this.offset;
    const tail: PeaksOverThresholdState = this.tail.state();
    return {
      plus: s[o + PLUS]!,
      minus: s[o + MINUS]!,
      scale: s[o + SCALE]!,
      seen: s[o + SEEN]!,
      scored: s[o + SCORED]!,
      exceedances: s[o + EXCEEDANCES]!,
      tail: { heap: [...tail.heap], sum: tail.sum, seen: tail.seen },
    };
  }

  private z(residual: number): number {
    const z = residual / (SD_PER_MEAN_ABS * this.store[this.offset + SCALE]!);
    const clip = this.params.clip;
    return z > clip ? clip : z < -clip ? -clip : z;
  }

  /** -log10 p of the larger sum after `residual`, uncalibrated. */
  private rawSurprise(residual: number): number {
    const s = this.store;
    const o = this.offset;
    if (!(s[o + SCALE]! > 0) || residual !== residual) return 0;
    const z = this.z(residual);
    const k = this.params.k;
    const sum = Math.max(s[o + PLUS]! + z - k, s[o + MINUS]! - z - k);
    return sum > 0 ? this.tail.surprise(sum, 0, this.params.tailMinCount) : 0;
  }
}
