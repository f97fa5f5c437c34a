import { z } from 'zod';
import { PeaksOverThreshold32 } from './peaks-over-threshold.js';

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
 * State lives in the owner's store: `SCALARS` float64 slots at (store, at) and `tailSize` float32
 * slots (its tail's heap) at (heap, h0). The work is done by the static functions on those
 * arrays, which the owner passes on every call (its store may be reallocated between calls), so a
 * detector keeps no CUSUM object; the class is the same thing on arrays it is given once.
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
/** Where the tail's scalars start. */
const OWN = 6;

const POT32 = PeaksOverThreshold32;

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

/** 10^-calibrationLog10p per params object (computed once, not per point). */
const nominalByParams = new WeakMap<CusumParams, number>();

function nominalOf(params: CusumParams): number {
  let nominal = nominalByParams.get(params);
  if (nominal === undefined) {
    nominal = Math.pow(10, -params.calibrationLog10p);
    nominalByParams.set(params, nominal);
  }
  return nominal;
}

export class ResidualCusum {
  /** Float64 slots taken in the owner's store. */
  static readonly SCALARS = OWN + PeaksOverThreshold32.SCALARS;

  /**
   * @param store, offset: `SCALARS` zero-filled float64 slots; @param heap, heapOffset:
   *   `params.tailSize` float32 slots.
   */
  constructor(
    readonly params: CusumParams,
    private readonly store: Float64Array,
    private readonly offset: number,
    private readonly heap: Float32Array,
    private readonly heapOffset: number,
    state?: CusumState,
  ) {
    if (state) ResidualCusum.load(store, offset, heap, heapOffset, params, state);
  }

  /** -log10 p of the larger sum after `residual` (signed), calibrated; 0 while unknown. Read-only. */
  surprise(residual: number): number {
    const { store, offset, heap, heapOffset, params } = this;
    return ResidualCusum.surpriseOf(store, offset, heap, heapOffset, params, residual);
  }

  /** Learns `residual` (signed; NaN is skipped); `scoring`: the owner scores this point. */
  learn(residual: number, scoring: boolean): void {
    const { store, offset, heap, heapOffset, params } = this;
    ResidualCusum.learnAt(store, offset, heap, heapOffset, params, residual, scoring);
  }

  state(): CusumState {
    return ResidualCusum.stateOf(this.store, this.offset, this.heap, this.heapOffset);
  }

  /** Restores `state` into zero-filled slots at (store, at) and (heap, h0). */
  static load(
    store: Float64Array,
    at: number,
    heap: Float32Array,
    h0: number,
    params: CusumParams,
    state: CusumState,
  ): void {
    POT32.load(store, at + OWN, heap, h0, params.tailSize, state.tail);
    store[at + PLUS] = state.plus;
    store[at + MINUS] = state.minus;
    store[at + SCALE] = state.scale;
    store[at + SEEN] = state.seen;
    store[at + SCORED] = state.scored;
    store[at + EXCEEDANCES] = state.exceedances;
  }

  /** `surprise` of the CUSUM at (store, at, heap, h0). */
  static surpriseOf(
    store: Float64Array,
    at: number,
    heap: Float32Array,
    h0: number,
    params: CusumParams,
    residual: number,
  ): number {
    const raw = rawSurprise(store, at, heap, h0, params, residual);
    if (!(raw > 0) || !(params.calibrationLog10p > 0)) return raw;
    const prior = params.calibrationPrior;
    const expected = (store[at + SCORED]! + 1) * nominalOf(params);
    const c = Math.log10((store[at + EXCEEDANCES]! + prior) / (expected + prior));
    return c > 0 ? (raw > c ? raw - c : 0) : raw;
  }

  /** `learn` into the CUSUM at (store, at, heap, h0). */
  static learnAt(
    store: Float64Array,
    at: number,
    heap: Float32Array,
    h0: number,
    params: CusumParams,
    residual: number,
    scoring: boolean,
  ): void {
    if (residual !== residual) return;
    const s = store;
    if (s[at + SCALE]! > 0) {
      const alarmed =
        ResidualCusum.surpriseOf(s, at, heap, h0, params, residual) >= params.resetLog10p;
      if (scoring && params.calibrationLog10p > 0) {
        s[at + SCORED]!++;
        if (rawSurprise(s, at, heap, h0, params, residual) >= params.calibrationLog10p) {
          s[at + EXCEEDANCES]!++;
        }
      }
      const z = standardised(s, at, params, residual);
      const k = params.k;
      s[at + PLUS] = alarmed ? 0 : Math.max(0, s[at + PLUS]! + z - k);
      s[at + MINUS] = alarmed ? 0 : Math.max(0, s[at + MINUS]! - z - k);
      POT32.addTo(s, at + OWN, heap, h0, params.tailSize, Math.max(s[at + PLUS]!, s[at + MINUS]!));
    }
    const seen = ++s[at + SEEN]!;
    s[at + SCALE]! += (Math.abs(residual) - s[at + SCALE]!) / Math.min(seen, 1 / params.scaleAlpha);
  }

  /** `state` of the CUSUM at (store, at, heap, h0). */
  static stateOf(store: Float64Array, at: number, heap: Float32Array, h0: number): CusumState {
    const tail = POT32.stateOf(store, at + OWN, heap, h0);
    return {
      plus: store[at + PLUS]!,
      minus: store[at + MINUS]!,
      scale: store[at + SCALE]!,
      seen: store[at + SEEN]!,
      scored: store[at + SCORED]!,
      exceedances: store[at + EXCEEDANCES]!,
      tail: { heap: tail.heap, sum: tail.sum, seen: tail.seen },
    };
  }
}

/** The residual in standard deviations, clipped at ±clip. */
function standardised(store: Float64Array, at: number, params: CusumParams, residual: number) {
  const z = residual / (SD_PER_MEAN_ABS * store[at + SCALE]!);
  const clip = params.clip;
  return z > clip ? clip : z < -clip ? -clip : z;
}

/** -log10 p of the larger sum after `residual`, uncalibrated. */
function rawSurprise(
  store: Float64Array,
  at: number,
  heap: Float32Array,
  h0: number,
  params: CusumParams,
  residual: number,
): number {
  if (!(store[at + SCALE]! > 0) || residual !== residual) return 0;
  const z = standardised(store, at, params, residual);
  const sum = Math.max(store[at + PLUS]! + z - params.k, store[at + MINUS]! - z - params.k);
  return sum > 0
    ? POT32.surpriseOf(store, at + OWN, heap, h0, params.tailSize, 0, sum, 0, params.tailMinCount)
    : 0;
}
