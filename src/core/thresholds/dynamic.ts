import { z } from 'zod';
import type { Level, Threshold, ThresholdSnapshot } from './threshold.js';
import { levelOf } from './static.js';

/**
 * Dynamic thresholds (seed §5): alert at the q99.5 and severe at the q99.9 quantile of the
 * recent *normal* scores, never below the floors, with a stability guard.
 *
 * Normal-score memory. An exponentially decayed histogram over fixed score bins, weight
 * α = 2 / (window + 1) per new score, whose effective sample size (Σw)² / Σw² is exactly `window`
 * (1000). Chosen over an exact sliding window: a window of 1000 quantised scores is already 1 KB
 * before any index, while this is 64 float32 bins (256 B), an O(1) update (decay is a growing
 * increment instead of touching every bin; all bins are rescaled once the increment reaches
 * 1e30) and O(1) amortised quantile tracking: each quantile keeps its bin and the weight above
 * it, and moves a bin at a time. Bins are 1/32 wide below 0.5 and 1/96 above (where the
 * decisions are); values are interpolated linearly within a bin. Cost of the decay: old scores
 * fade instead of dropping out, so the quantiles follow a sliding window's within sampling noise.
 *
 * Levels: `score ≥ severe` → severe, `score ≥ alert` → alert, with
 *   alert  = max(alertFloor, q_alert)             (alertFloor 0.5: the detectors' own boundary),
 *   severe = max(severeFloor, q_severe, alert)    (severeFloor 0.8).
 * The floors make the dynamic threshold only ever stricter than the detector's own boundary: it
 * silences series on which a detector is noisy, never makes a quiet one alert on noise.
 *
 * States and the exact rules, evaluated for every finite score after classifying it:
 * - The stability window is the last `stabilityWindowMs` of event time in 10 buckets (so it spans
 *   between 9/10 and all of it). It counts points n and flagged points f (level ≠ ok). The series
 *   is *volatile* when f ≥ trigger = max(minFlags, volatileFactor · (1 − alertQuantile) · n),
 *   i.e. flags arrive at `volatileFactor` times the rate the alert quantile implies, and *calm*
 *   when f ≤ trigger / 2.
 * - `stable`: the score enters the histogram, then both quantiles are re-read (fine-tuning).
 *   A score above `severe` enters clipped to `severe`: it still counts as tail weight (dropping
 *   it would censor the tail at the estimate itself, and q_severe could then only sink), but an
 *   anomaly cannot drag the quantile up to its own value; severe climbs at most about one bin
 *   (≈ 0.01) per few exceedances. Alerts enter as they are, else q_alert could only ever fall.
 *   Volatile → `frozen`.
 * - `frozen`: thresholds fixed, nothing enters the histogram. Calm again, or frozen for
 *   `maxFreezeMs` (a lasting change is the new normal) → `recalibrating`.
 * - `recalibrating` (and the initial `warmup`): the histogram keeps RECALIBRATION_KEEP of its old
 *   weight (so its tail is not empty) and takes the next `minNormal` scores; thresholds stay as
 *   they were (the floors during warm-up). Scores are clipped as in `stable`, except during
 *   warm-up and after a timed-out freeze, when every score enters as it is (there is no
 *   established normal to protect, and a new one to learn). Volatile during a recalibration that was not
 *   forced by the timeout → `frozen` again. After `minNormal` scores → `stable`.
 * Non-finite scores are `ok` and change nothing.
 */
export const DYNAMIC_KIND = 'dynamic';

export const dynamicParamsSchema = z
  .strictObject({
    /** Number of recent normal scores the quantiles describe (effective sample size). */
    window: z.number().int().min(50).max(1_000_000).default(1000),
    alertQuantile: z.number().gt(0.5).lt(1).default(0.995),
    severeQuantile: z.number().gt(0.5).lt(1).default(0.999),
    /** Never alert below this score (the detectors' native boundary). */
    alertFloor: z.number().min(0).max(1).default(0.5),
    severeFloor: z.number().min(0).max(1).default(0.8),
    /** Scores taken before quantiles replace the floors, and again after each freeze. */
    minNormal: z.number().int().min(10).default(300),
    /** Event-time span over which volatility is judged (the seed's 5-minute check). */
    stabilityWindowMs: z.number().positive().default(300_000),
    /** Volatile when flags arrive this many times faster than the alert quantile implies. */
    volatileFactor: z.number().gt(1).default(10),
    /** ... and at least this many flags are in the stability window. */
    minFlags: z.number().int().min(1).default(3),
    /** A freeze longer than this ends in a recalibration even if the series stays volatile. */
    maxFreezeMs: z.number().positive().default(1_800_000),
  })
  .refine((p) => p.severeQuantile > p.alertQuantile, {
    message: 'severeQuantile must be above alertQuantile',
    path: ['severeQuantile'],
  })
  .refine((p) => p.severeFloor >= p.alertFloor, {
    message: 'severeFloor must be at least alertFloor',
    path: ['severeFloor'],
  });

export type DynamicParams = z.infer<typeof dynamicParamsSchema>;

export type DynamicState = 'warmup' | 'stable' | 'frozen' | 'recalibrating';

/** Score bins: 16 of 1/32 on [0, 0.5), 48 of 1/96 on [0.5, 1]. */
const LOW_BINS = 16;
const BINS = 64;
const TOP_BIN = BINS - 1;
const BUCKETS = 10;
/** Share of the old histogram weight kept when a recalibration starts. */
const RECALIBRATION_KEEP = 0.1;
/** Rescale the histogram when the lazy-decay increment passes this (float32 max is 3.4e38). */
const RESCALE_AT = 1e30;

/** Float32 layout: histogram bins, then bucket point counts, then flag counts. */
const HIST = 0;
const BUCKET_N = BINS;
const BUCKET_F = BUCKET_N + BUCKETS;
const F32_SIZE = BUCKET_F + BUCKETS;
/** Float64 layout of the scalar state. */
const INCREMENT = 0;
const TOTAL = 1;
const ABOVE_ALERT = 2;
const ABOVE_SEVERE = 3;
const ALERT = 4;
const SEVERE = 5;
const FREEZE_START = 6;
const BUCKET_ID = 7;
const WINDOW_N = 8;
const WINDOW_F = 9;
const F64_SIZE = 10;

const MODE_CALIBRATING = 0;
const MODE_STABLE = 1;
const MODE_FROZEN = 2;

function binOf(score: number): number {
  if (score < 0.5) return score > 0 ? Math.floor(score * 32) : 0;
  const bin = LOW_BINS + Math.floor((score - 0.5) * 96);
  return bin < TOP_BIN ? bin : TOP_BIN;
}

function binTop(bin: number): number {
  return bin < LOW_BINS ? (bin + 1) / 32 : 0.5 + (bin + 1 - LOW_BINS) / 96;
}

function binWidth(bin: number): number {
  return bin < LOW_BINS ? 1 / 32 : 1 / 96;
}

const finite = z.number().refine(Number.isFinite, 'must be finite');
const weight = finite.refine((v) => v >= 0, 'must be >= 0');

export const dynamicStateSchema = z.object({
  mode: z.enum(['calibrating', 'stable', 'frozen']),
  calibrated: z.boolean(),
  forced: z.boolean(),
  hasTime: z.boolean(),
  calibrationCount: z.number().int().nonnegative(),
  alertBin: z.number().int().min(0).max(TOP_BIN),
  severeBin: z.number().int().min(0).max(TOP_BIN),
  histogram: z.array(weight).length(BINS),
  bucketPoints: z.array(weight).length(BUCKETS),
  bucketFlags: z.array(weight).length(BUCKETS),
  increment: finite,
  total: weight,
  aboveAlert: finite,
  aboveSevere: finite,
  alert: finite,
  severe: finite,
  freezeStart: finite,
  bucketId: finite,
  windowPoints: weight,
  windowFlags: weight,
});

export type DynamicSnapshotState = z.infer<typeof dynamicStateSchema>;

const MODES = ['calibrating', 'stable', 'frozen'] as const;

export class DynamicThreshold implements Threshold {
  readonly kind = DYNAMIC_KIND;
  readonly params: Readonly<DynamicParams>;
  /** One buffer for all numeric state: two typed-array views cost less than several arrays. */
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private mode = MODE_CALIBRATING;
  private calibrated = false;
  /** The running recalibration follows a timed-out freeze (every score is admitted). */
  private forced = false;
  private hasTime = false;
  private calibrationCount = 0;
  /** Bin holding each quantile; the matching ABOVE_* is the weight of all bins above it. */
  private alertBin = 0;
  private severeBin = 0;

  constructor(params: DynamicParams, state?: DynamicSnapshotState) {
    this.params = Object.freeze({ ...params });
    const buffer = new ArrayBuffer(F64_SIZE * 8 + F32_SIZE * 4);
    this.f64 = new Float64Array(buffer, 0, F64_SIZE);
    this.f32 = new Float32Array(buffer, F64_SIZE * 8, F32_SIZE);
    if (state) this.load(state);
    else {
      this.f64[INCREMENT] = 1;
      this.f64[ALERT] = params.alertFloor;
      this.f64[SEVERE] = params.severeFloor;
    }
  }

  /** `warmup` until first calibrated, then `stable`, `frozen` or `recalibrating`. */
  get state(): DynamicState {
    if (this.mode === MODE_STABLE) return 'stable';
    if (this.mode === MODE_FROZEN) return 'frozen';
    return this.calibrated ? 'recalibrating' : 'warmup';
  }

  get isFrozen(): boolean {
    return this.mode === MODE_FROZEN;
  }

  get alertThreshold(): number {
    return this.f64[ALERT] as number;
  }

  get severeThreshold(): number {
    return this.f64[SEVERE] as number;
  }

  /** The histogram's current estimate of quantile `q` (for tests and diagnostics; O(bins)). */
  quantile(q: number): number {
    const f32 = this.f32;
    const total = this.f64[TOTAL] as number;
    const target = (1 - q) * total;
    let above = 0;
    for (let bin = TOP_BIN; bin >= 0; bin--) {
      const w = f32[HIST + bin] as number;
      if (above + w > target) return this.valueIn(bin, above, target);
      above += w;
    }
    return 0;
  }

  classify(timeMs: number, score: number): Level {
    if (score - score !== 0) return 'ok'; // NaN, ±Infinity
    const f64 = this.f64;
    const level = levelOf(score, f64[ALERT] as number, f64[SEVERE] as number);
    const trigger = this.observe(timeMs, level !== 'ok');
    const flags = f64[WINDOW_F] as number;
    if (this.mode === MODE_STABLE) {
      if (flags >= trigger) this.freeze(timeMs);
      else {
        this.admit(score, true);
        this.retune();
      }
      return level;
    }
    if (this.mode === MODE_FROZEN) {
      const timedOut = timeMs - (f64[FREEZE_START] as number) >= this.params.maxFreezeMs;
      if (!timedOut && flags > trigger / 2) return level;
      this.startCalibration(timedOut);
    } else if (!this.forced && flags >= trigger) {
      this.freeze(timeMs);
      return level;
    }
    this.admit(score, this.calibrated && !this.forced);
    if (++this.calibrationCount >= this.params.minNormal) {
      this.mode = MODE_STABLE;
      this.calibrated = true;
      this.forced = false;
      this.retune();
    }
    return level;
  }

  snapshot(): ThresholdSnapshot {
    const f32 = this.f32;
    const f64 = this.f64;
    const state: DynamicSnapshotState = {
      mode: MODES[this.mode] ?? 'calibrating',
      calibrated: this.calibrated,
      forced: this.forced,
      hasTime: this.hasTime,
      calibrationCount: this.calibrationCount,
      alertBin: this.alertBin,
      severeBin: this.severeBin,
      histogram: Array.from(f32.subarray(HIST, HIST + BINS)),
      bucketPoints: Array.from(f32.subarray(BUCKET_N, BUCKET_N + BUCKETS)),
      bucketFlags: Array.from(f32.subarray(BUCKET_F, BUCKET_F + BUCKETS)),
      increment: f64[INCREMENT] as number,
      total: f64[TOTAL] as number,
      aboveAlert: f64[ABOVE_ALERT] as number,
      aboveSevere: f64[ABOVE_SEVERE] as number,
      alert: f64[ALERT] as number,
      severe: f64[SEVERE] as number,
      freezeStart: f64[FREEZE_START] as number,
      bucketId: f64[BUCKET_ID] as number,
      windowPoints: f64[WINDOW_N] as number,
      windowFlags: f64[WINDOW_F] as number,
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  /** Count the point in the stability window; returns the volatility trigger for the window. */
  private observe(timeMs: number, flagged: boolean): number {
    const f32 = this.f32;
    const f64 = this.f64;
    const id = Math.floor((timeMs * BUCKETS) / this.params.stabilityWindowMs);
    const current = f64[BUCKET_ID] as number;
    if (!this.hasTime) {
      if (id - id === 0) {
        f64[BUCKET_ID] = id;
        this.hasTime = true;
      }
    } else if (id > current) {
      // Clear the buckets that slid out; time going backwards stays in the current bucket.
      const steps = Math.min(id - current, BUCKETS);
      for (let k = 1; k <= steps; k++) {
        const slot = (((current + k) % BUCKETS) + BUCKETS) % BUCKETS;
        f64[WINDOW_N] = (f64[WINDOW_N] as number) - (f32[BUCKET_N + slot] as number);
        f64[WINDOW_F] = (f64[WINDOW_F] as number) - (f32[BUCKET_F + slot] as number);
        f32[BUCKET_N + slot] = 0;
        f32[BUCKET_F + slot] = 0;
      }
      f64[BUCKET_ID] = id;
    }
    const slot = ((((f64[BUCKET_ID] as number) % BUCKETS) + BUCKETS) % BUCKETS) | 0;
    f32[BUCKET_N + slot] = (f32[BUCKET_N + slot] as number) + 1;
    const points = (f64[WINDOW_N] as number) + 1;
    f64[WINDOW_N] = points;
    if (flagged) {
      f32[BUCKET_F + slot] = (f32[BUCKET_F + slot] as number) + 1;
      f64[WINDOW_F] = (f64[WINDOW_F] as number) + 1;
    }
    const { minFlags, volatileFactor, alertQuantile } = this.params;
    const expected = volatileFactor * (1 - alertQuantile) * points;
    return expected > minFlags ? expected : minFlags;
  }

  private freeze(timeMs: number): void {
    this.mode = MODE_FROZEN;
    this.f64[FREEZE_START] = timeMs;
  }

  private startCalibration(forced: boolean): void {
    this.mode = MODE_CALIBRATING;
    this.forced = forced;
    this.calibrationCount = 0;
    const f32 = this.f32;
    for (let bin = 0; bin < BINS; bin++) {
      f32[HIST + bin] = (f32[HIST + bin] as number) * RECALIBRATION_KEEP;
    }
    this.resum();
  }

  /**
   * Add one score to the histogram, clipped to severe when `clip`, then move both tracked
   * quantiles to their bins again.
   */
  private admit(score: number, clip: boolean): void {
    const f32 = this.f32;
    const f64 = this.f64;
    // Growing the increment by 1 / (1 − α) is decaying every older weight by (1 − α).
    const { window } = this.params;
    const increment = ((f64[INCREMENT] as number) * (window + 1)) / (window - 1);
    f64[INCREMENT] = increment;
    const severe = f64[SEVERE] as number;
    const bin = binOf(clip && score > severe ? severe : score);
    const before = f32[HIST + bin] as number;
    f32[HIST + bin] = before + increment;
    // The weight actually stored (float32-rounded), so the running sums match the bins.
    const added = (f32[HIST + bin] as number) - before;
    f64[TOTAL] = (f64[TOTAL] as number) + added;
    if (bin > this.alertBin) f64[ABOVE_ALERT] = (f64[ABOVE_ALERT] as number) + added;
    if (bin > this.severeBin) f64[ABOVE_SEVERE] = (f64[ABOVE_SEVERE] as number) + added;
    if (increment > RESCALE_AT) this.rescale();
    this.alertBin = this.track(this.alertBin, ABOVE_ALERT, this.params.alertQuantile);
    this.severeBin = this.track(this.severeBin, ABOVE_SEVERE, this.params.severeQuantile);
  }

  /** Move a quantile's bin until the tail target falls inside it; returns the new bin. */
  private track(bin: number, aboveSlot: number, q: number): number {
    const f32 = this.f32;
    const f64 = this.f64;
    const target = (1 - q) * (f64[TOTAL] as number);
    let above = f64[aboveSlot] as number;
    while (above > target && bin < TOP_BIN) {
      bin++;
      above -= f32[HIST + bin] as number;
    }
    while (bin > 0 && above + (f32[HIST + bin] as number) <= target) {
      above += f32[HIST + bin] as number;
      bin--;
    }
    f64[aboveSlot] = above;
    return bin;
  }

  /** Re-read both thresholds from the tracked quantiles (stable state only). */
  private retune(): void {
    const f64 = this.f64;
    const target = (q: number): number => (1 - q) * (f64[TOTAL] as number);
    const { alertFloor, severeFloor, alertQuantile, severeQuantile } = this.params;
    const qa = this.valueIn(this.alertBin, f64[ABOVE_ALERT] as number, target(alertQuantile));
    const qs = this.valueIn(this.severeBin, f64[ABOVE_SEVERE] as number, target(severeQuantile));
    const alert = qa > alertFloor ? qa : alertFloor;
    let severe = qs > severeFloor ? qs : severeFloor;
    if (severe < alert) severe = alert;
    f64[ALERT] = alert;
    f64[SEVERE] = severe;
  }

  /** Score whose tail weight is `target`, inside `bin` with weight `above` above the bin. */
  private valueIn(bin: number, above: number, target: number): number {
    const w = this.f32[HIST + bin] as number;
    const inside = w > 0 ? (target - above) / w : 0;
    return binTop(bin) - (inside < 1 ? inside : 1) * binWidth(bin);
  }

  /** Divide every weight by the increment (which becomes 1): same histogram, smaller numbers. */
  private rescale(): void {
    const f32 = this.f32;
    const factor = 1 / (this.f64[INCREMENT] as number);
    for (let bin = 0; bin < BINS; bin++) f32[HIST + bin] = (f32[HIST + bin] as number) * factor;
    this.f64[INCREMENT] = 1;
    this.resum();
  }

  /** Recompute the total and the weights above the tracked bins exactly from the bins. */
  private resum(): void {
    const f32 = this.f32;
    let total = 0;
    let aboveAlert = 0;
    let aboveSevere = 0;
    for (let bin = TOP_BIN; bin >= 0; bin--) {
      const w = f32[HIST + bin] as number;
      if (bin > this.alertBin) aboveAlert += w;
      if (bin > this.severeBin) aboveSevere += w;
      total += w;
    }
    this.f64[TOTAL] = total;
    this.f64[ABOVE_ALERT] = aboveAlert;
    this.f64[ABOVE_SEVERE] = aboveSevere;
    this.alertBin = this.track(this.alertBin, ABOVE_ALERT, this.params.alertQuantile);
    this.severeBin = this.track(this.severeBin, ABOVE_SEVERE, this.params.severeQuantile);
  }

  private load(state: DynamicSnapshotState): void {
    const f32 = this.f32;
    const f64 = this.f64;
    this.mode = MODES.indexOf(state.mode);
    this.calibrated = state.calibrated;
    this.forced = state.forced;
    this.hasTime = state.hasTime;
    this.calibrationCount = state.calibrationCount;
    this.alertBin = state.alertBin;
    this.severeBin = state.severeBin;
    f32.set(state.histogram, HIST);
    f32.set(state.bucketPoints, BUCKET_N);
    f32.set(state.bucketFlags, BUCKET_F);
    f64[INCREMENT] = state.increment;
    f64[TOTAL] = state.total;
    f64[ABOVE_ALERT] = state.aboveAlert;
    f64[ABOVE_SEVERE] = state.aboveSevere;
    f64[ALERT] = state.alert;
    f64[SEVERE] = state.severe;
    f64[FREEZE_START] = state.freezeStart;
    f64[BUCKET_ID] = state.bucketId;
    f64[WINDOW_N] = state.windowPoints;
    f64[WINDOW_F] = state.windowFlags;
  }
}
