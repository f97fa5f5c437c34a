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
 * Memory: everything but four float64 values (two event times, the two thresholds) lives in one
 * Float32Array (98 entries); params are shared between series, not copied (≈ 0.75 KB a series).
 *
 * Levels: `score ≥ severe` → severe, `score ≥ alert` → alert, with
 *   alert  = max(alertFloor, q_alert)             (alertFloor 0.5: the detectors' own boundary),
 *   severe = max(severeFloor, q_severe, alert)    (severeFloor 0.8).
 * The floors make the dynamic threshold only ever stricter than the detector's own boundary: it
 * silences series on which a detector is noisy, never makes a quiet one alert on noise.
 *
 * States and the exact rules, applied to every finite score after classifying it:
 * - Volatility. The stability window is the last `stabilityWindowMs` of event time, kept in 10
 *   buckets (so it spans between 9/10 and all of it), counting points n and flags f (level ≠ ok).
 *   The series is *volatile* when f ≥ trigger = max(minFlags, volatileFactor · (1 − alertQuantile)
 *   · n) — flags arrive `volatileFactor` times faster than the alert quantile implies — or when
 *   `minFlags` of the last `burstPoints` points are flagged (a burst, caught within a few points
 *   whatever the sampling rate). It is *calm* when f ≤ trigger / 2 and none of the last
 *   `burstPoints` points is flagged.
 * - Admission. An unflagged score enters the histogram at once. A flagged one waits `burstPoints`
 *   points and enters only if no freeze came meanwhile, so the first flags of a burst never
 *   count as normal. Scores above `severe` enter clipped to one fine bin (1/96) above `severe`:
 *   still tail weight (dropping them would censor the tail at the estimate itself, and q_severe
 *   could then only sink), letting severe climb a bin at a time while exceedances are too
 *   frequent, yet an anomaly cannot drag the quantile up to its own value. Alerts below severe
 *   enter as they are, else q_alert could only ever fall.
 * - `stable`: admission, then both thresholds are re-read (fine-tuning). Volatile → `frozen`.
 * - `frozen`: thresholds fixed; pending scores are dropped and nothing enters. Calm → a
 *   recalibration. Still volatile after both `maxFreezeMs` and `minNormal` points (a lasting
 *   change is the new normal) → a *forced* recalibration.
 * - `recalibrating` (and the initial `warmup`): the histogram keeps RECALIBRATION_KEEP of its
 *   weight (the tail must not start empty) and takes the next `minNormal` points as above, with
 *   the thresholds unchanged (the floors during warm-up). Forced, and in warm-up, nothing is
 *   clipped (there is no established normal to protect, and a new one to learn); forced, every
 *   score enters at once and volatility is ignored. Otherwise volatile → `frozen` again. After
 *   `minNormal` points → `stable` with re-read thresholds and an emptied stability window
 *   (flags judged against the old thresholds are no evidence any more).
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
    /** Fewest flags that make the series volatile (in the window, or among `burstPoints`). */
    minFlags: z.number().int().min(1).max(8).default(3),
    /** Span, in points, of the burst rule and of the wait of flagged scores before they enter. */
    burstPoints: z.number().int().min(2).max(30).default(20),
    /** A freeze this long (and `minNormal` points) ends in a recalibration even if volatile. */
    maxFreezeMs: z.number().positive().default(1_800_000),
  })
  .refine((p) => p.severeQuantile > p.alertQuantile, {
    message: 'severeQuantile must be above alertQuantile',
    path: ['severeQuantile'],
  })
  .refine((p) => p.severeFloor >= p.alertFloor, {
    message: 'severeFloor must be at least alertFloor',
    path: ['severeFloor'],
  })
  .refine((p) => p.minFlags <= p.burstPoints, {
    message: 'minFlags must not exceed burstPoints',
    path: ['minFlags'],
  });

export type DynamicParams = z.infer<typeof dynamicParamsSchema>;

export type DynamicState = 'warmup' | 'stable' | 'frozen' | 'recalibrating';

/** Score bins: 16 of 1/32 on [0, 0.5), 48 of 1/96 on [0.5, 1]. */
const LOW_BINS = 16;
const BINS = 64;
const TOP_BIN = BINS - 1;
/** Width of the fine bins; exceedances of severe are clipped to severe plus this. */
const FINE = 1 / 96;
const BUCKETS = 10;
/** Flagged scores waiting for the end of their burst span (minFlags ≤ 8 bounds the queue). */
const PENDING_SLOTS = 8;
/** Share of the old histogram weight kept when a recalibration starts. */
const RECALIBRATION_KEEP = 0.25;
/** Rescale the histogram when the lazy-decay increment passes this (float32 max is 3.4e38). */
const RESCALE_AT = 1e30;

/**
 * Float32 layout: histogram bins, bucket point counts, bucket flag counts, pending scores, then
 * scalars. Float32 is enough for weights (relative, and resummed at every rescale) and for
 * counts below 2^24.
 */
const HIST = 0;
const BUCKET_N = BINS;
const BUCKET_F = BUCKET_N + BUCKETS;
const PENDING = BUCKET_F + BUCKETS;
const INCREMENT = PENDING + PENDING_SLOTS;
const TOTAL = INCREMENT + 1;
const ABOVE_ALERT = TOTAL + 1;
const ABOVE_SEVERE = ABOVE_ALERT + 1;
const WINDOW_N = ABOVE_SEVERE + 1;
const WINDOW_F = WINDOW_N + 1;
const SIZE = WINDOW_F + 1;

const MODES = ['calibrating', 'stable', 'frozen'] as const;
const CALIBRATING = 0;
const STABLE = 1;
const FROZEN = 2;

/** Ring position of a bucket (bucket ids are negative before 1970). */
function bucketSlot(id: number): number {
  return (((id % BUCKETS) + BUCKETS) % BUCKETS) | 0;
}

function binOf(score: number): number {
  if (score < 0.5) return score > 0 ? Math.floor(score * 32) : 0;
  const bin = LOW_BINS + Math.floor((score - 0.5) * 96);
  return bin < TOP_BIN ? bin : TOP_BIN;
}

function binTop(bin: number): number {
  return bin < LOW_BINS ? (bin + 1) / 32 : 0.5 + (bin + 1 - LOW_BINS) * FINE;
}

function binWidth(bin: number): number {
  return bin < LOW_BINS ? 1 / 32 : FINE;
}

const finite = z.number().refine(Number.isFinite, 'must be finite');
const weight = finite.refine((v) => v >= 0, 'must be >= 0');

export const dynamicStateSchema = z.object({
  mode: z.enum(MODES),
  calibrated: z.boolean(),
  forced: z.boolean(),
  hasTime: z.boolean(),
  count: z.number().int().nonnegative(),
  recentMask: z.number().int().nonnegative(),
  recentCount: z.number().int().nonnegative(),
  pendingMask: z.number().int().nonnegative(),
  pendingHead: z
    .number()
    .int()
    .min(0)
    .max(PENDING_SLOTS - 1),
  pendingCount: z.number().int().min(0).max(PENDING_SLOTS),
  pending: z.array(finite).length(PENDING_SLOTS),
  alertBin: z.number().int().min(0).max(TOP_BIN),
  severeBin: z.number().int().min(0).max(TOP_BIN),
  histogram: z.array(weight).length(BINS),
  bucketPoints: z.array(weight).length(BUCKETS),
  bucketFlags: z.array(weight).length(BUCKETS),
  increment: weight,
  total: weight,
  aboveAlert: finite,
  aboveSevere: finite,
  windowPoints: weight,
  windowFlags: weight,
  alert: finite,
  severe: finite,
  freezeStart: finite,
  bucketId: finite,
});

export type DynamicSnapshotState = z.infer<typeof dynamicStateSchema>;

export class DynamicThreshold implements Threshold {
  readonly kind = DYNAMIC_KIND;
  readonly params: Readonly<DynamicParams>;
  private readonly f32 = new Float32Array(SIZE);
  private alert: number;
  private severe: number;
  private freezeStart = 0;
  private bucketId = 0;
  private mode = CALIBRATING;
  private calibrated = false;
  /** The running recalibration follows a timed-out freeze (every score enters unclipped). */
  private forced = false;
  private hasTime = false;
  /** Points seen in the current calibration or freeze. */
  private count = 0;
  /** Bin holding each quantile; ABOVE_* holds the weight of all bins above it. */
  private alertBin = 0;
  private severeBin = 0;
  /** Ring position of the current bucket (derived from `bucketId`). */
  private slot = 0;
  /** Bit i set: the point i steps back was flagged (last `burstPoints` points). */
  private recentMask = 0;
  private recentCount = 0;
  /** Bit i set: the point i steps back is a pending flagged score, queued in PENDING. */
  private pendingMask = 0;
  private pendingHead = 0;
  private pendingCount = 0;

  /** `params` is kept by reference when frozen, so that series can share one object. */
  constructor(params: DynamicParams, state?: DynamicSnapshotState) {
    this.params = Object.isFrozen(params) ? params : Object.freeze({ ...params });
    this.alert = params.alertFloor;
    this.severe = params.severeFloor;
    this.f32[INCREMENT] = 1;
    if (state) this.load(state);
  }

  /** `warmup` until first calibrated, then `stable`, `frozen` or `recalibrating`. */
  get state(): DynamicState {
    if (this.mode === STABLE) return 'stable';
    if (this.mode === FROZEN) return 'frozen';
    return this.calibrated ? 'recalibrating' : 'warmup';
  }

  get isFrozen(): boolean {
    return this.mode === FROZEN;
  }

  get alertThreshold(): number {
    return this.alert;
  }

  get severeThreshold(): number {
    return this.severe;
  }

  /** The histogram's current estimate of quantile `q` (for tests and diagnostics; O(bins)). */
  quantile(q: number): number {
    const f32 = this.f32;
    const target = (1 - q) * (f32[TOTAL] as number);
    let above = 0;
    for (let bin = TOP_BIN; bin >= 0; bin--) {
      const w = f32[HIST + bin] as number;
      if (above + w > target) return valueIn(bin, w, above, target);
      above += w;
    }
    return 0;
  }

  classify(timeMs: number, score: number): Level {
    if (score - score !== 0) return 'ok'; // NaN, ±Infinity
    const level = levelOf(score, this.alert, this.severe);
    const flagged = level !== 'ok';
    this.shift(flagged);
    const trigger = this.observe(timeMs, flagged);
    const windowFlags = this.f32[WINDOW_F] as number;
    const { minFlags, minNormal } = this.params;
    const volatile = windowFlags >= trigger || this.recentCount >= minFlags;
    if (this.mode === STABLE) {
      if (volatile) this.freeze(timeMs);
      else {
        this.take(score, flagged);
        this.retune();
      }
      return level;
    }
    if (this.mode === FROZEN) {
      this.count++;
      const timedOut =
        timeMs - this.freezeStart >= this.params.maxFreezeMs && this.count >= minNormal;
      const calm = windowFlags <= trigger / 2 && this.recentCount === 0;
      if (!timedOut && !calm) return level;
      this.startCalibration(timedOut);
    } else if (!this.forced && volatile) {
      this.freeze(timeMs);
      return level;
    }
    if (this.forced) this.admit(score, false);
    else this.take(score, flagged);
    if (++this.count >= minNormal) {
      this.mode = STABLE;
      this.calibrated = true;
      this.forced = false;
      this.clearWindow();
      this.retune();
    }
    return level;
  }

  snapshot(): ThresholdSnapshot {
    const f32 = this.f32;
    const state: DynamicSnapshotState = {
      mode: MODES[this.mode] ?? 'calibrating',
      calibrated: this.calibrated,
      forced: this.forced,
      hasTime: this.hasTime,
      count: this.count,
      recentMask: this.recentMask,
      recentCount: this.recentCount,
      pendingMask: this.pendingMask,
      pendingHead: this.pendingHead,
      pendingCount: this.pendingCount,
      pending: Array.from(f32.subarray(PENDING, PENDING + PENDING_SLOTS)),
      alertBin: this.alertBin,
      severeBin: this.severeBin,
      histogram: Array.from(f32.subarray(HIST, HIST + BINS)),
      bucketPoints: Array.from(f32.subarray(BUCKET_N, BUCKET_N + BUCKETS)),
      bucketFlags: Array.from(f32.subarray(BUCKET_F, BUCKET_F + BUCKETS)),
      increment: f32[INCREMENT] as number,
      total: f32[TOTAL] as number,
      aboveAlert: f32[ABOVE_ALERT] as number,
      aboveSevere: f32[ABOVE_SEVERE] as number,
      windowPoints: f32[WINDOW_N] as number,
      windowFlags: f32[WINDOW_F] as number,
      alert: this.alert,
      severe: this.severe,
      freezeStart: this.freezeStart,
      bucketId: this.bucketId,
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  /**
   * Slide the burst span by one point. A pending score whose span ends without a freeze is
   * admitted now.
   */
  private shift(flagged: boolean): void {
    const span = this.params.burstPoints;
    const oldest = 1 << (span - 1);
    const full = oldest * 2 - 1;
    if (this.recentMask & oldest) this.recentCount--;
    const cleared = (this.pendingMask & oldest) !== 0;
    this.recentMask = ((this.recentMask << 1) | (flagged ? 1 : 0)) & full;
    this.pendingMask = (this.pendingMask << 1) & full;
    if (flagged) this.recentCount++;
    if (cleared) this.release();
  }

  /** Admit the oldest pending score, if any. */
  private release(): void {
    if (this.pendingCount === 0) return;
    const score = this.f32[PENDING + this.pendingHead] as number;
    this.pendingHead = (this.pendingHead + 1) % PENDING_SLOTS;
    this.pendingCount--;
    this.admit(score, this.calibrated);
  }

  /** Admission of the current point: now if unflagged, after its burst span if flagged. */
  private take(score: number, flagged: boolean): void {
    if (!flagged) {
      this.admit(score, this.calibrated);
      return;
    }
    // Never full: each pending score is one of the < minFlags ≤ 8 recent flags (else volatile).
    if (this.pendingCount === PENDING_SLOTS) this.release();
    this.f32[PENDING + ((this.pendingHead + this.pendingCount) % PENDING_SLOTS)] = score;
    this.pendingCount++;
    this.pendingMask |= 1;
  }

  /** Count the point in the stability window; returns the volatility trigger for the window. */
  private observe(timeMs: number, flagged: boolean): number {
    const f32 = this.f32;
    const id = Math.floor((timeMs * BUCKETS) / this.params.stabilityWindowMs);
    // Time going backwards (or not a number) stays in the current bucket.
    if (id > this.bucketId || !this.hasTime) this.advance(id);
    const slot = this.slot;
    f32[BUCKET_N + slot] = (f32[BUCKET_N + slot] as number) + 1;
    const points = (f32[WINDOW_N] as number) + 1;
    f32[WINDOW_N] = points;
    if (flagged) {
      f32[BUCKET_F + slot] = (f32[BUCKET_F + slot] as number) + 1;
      f32[WINDOW_F] = (f32[WINDOW_F] as number) + 1;
    }
    const { minFlags, volatileFactor, alertQuantile } = this.params;
    const expected = volatileFactor * (1 - alertQuantile) * points;
    return expected > minFlags ? expected : minFlags;
  }

  /** Move the window to bucket `id`, emptying the buckets that slid out of it. */
  private advance(id: number): void {
    if (id - id !== 0) return;
    const f32 = this.f32;
    if (this.hasTime) {
      const steps = Math.min(id - this.bucketId, BUCKETS);
      for (let k = 1; k <= steps; k++) {
        const slot = bucketSlot(this.bucketId + k);
        f32[WINDOW_N] = (f32[WINDOW_N] as number) - (f32[BUCKET_N + slot] as number);
        f32[WINDOW_F] = (f32[WINDOW_F] as number) - (f32[BUCKET_F + slot] as number);
        f32[BUCKET_N + slot] = 0;
        f32[BUCKET_F + slot] = 0;
      }
    }
    this.hasTime = true;
    this.bucketId = id;
    this.slot = bucketSlot(id);
  }

  /**
   * Flags judged against thresholds that have just been replaced are no evidence any more; the
   * scores still pending (they survived the calibration) enter now.
   */
  private clearWindow(): void {
    while (this.pendingCount > 0) this.release();
    this.pendingMask = 0;
    this.f32.fill(0, BUCKET_N, BUCKET_F + BUCKETS);
    this.f32[WINDOW_N] = 0;
    this.f32[WINDOW_F] = 0;
    this.recentMask = 0;
    this.recentCount = 0;
  }

  private freeze(timeMs: number): void {
    this.mode = FROZEN;
    this.freezeStart = timeMs;
    this.count = 0;
    this.pendingMask = 0;
    this.pendingHead = 0;
    this.pendingCount = 0;
  }

  private startCalibration(forced: boolean): void {
    this.mode = CALIBRATING;
    this.forced = forced;
    this.count = 0;
    const f32 = this.f32;
    for (let bin = 0; bin < BINS; bin++) {
      f32[HIST + bin] = (f32[HIST + bin] as number) * RECALIBRATION_KEEP;
    }
    this.resum();
  }

  /**
   * Add one score to the histogram, clipped to just above severe when `clip`, then move both
   * tracked quantiles to their bins again.
   */
  private admit(score: number, clip: boolean): void {
    const f32 = this.f32;
    // Growing the increment by 1 / (1 − α) is decaying every older weight by (1 − α).
    const { window } = this.params;
    const increment = ((f32[INCREMENT] as number) * (window + 1)) / (window - 1);
    f32[INCREMENT] = increment;
    const ceiling = this.severe + FINE;
    const bin = binOf(clip && score > ceiling ? ceiling : score);
    const before = f32[HIST + bin] as number;
    f32[HIST + bin] = before + increment;
    // The weight actually stored (float32-rounded), so the running sums match the bins.
    const added = (f32[HIST + bin] as number) - before;
    f32[TOTAL] = (f32[TOTAL] as number) + added;
    if (bin > this.alertBin) f32[ABOVE_ALERT] = (f32[ABOVE_ALERT] as number) + added;
    if (bin > this.severeBin) f32[ABOVE_SEVERE] = (f32[ABOVE_SEVERE] as number) + added;
    if (increment > RESCALE_AT) this.rescale();
    this.alertBin = this.track(this.alertBin, ABOVE_ALERT, this.params.alertQuantile);
    this.severeBin = this.track(this.severeBin, ABOVE_SEVERE, this.params.severeQuantile);
  }

  /** Move a quantile's bin until its tail target falls inside it; returns the new bin. */
  private track(bin: number, aboveSlot: number, q: number): number {
    const f32 = this.f32;
    const target = (1 - q) * (f32[TOTAL] as number);
    let above = f32[aboveSlot] as number;
    while (above > target && bin < TOP_BIN) {
      bin++;
      above -= f32[HIST + bin] as number;
    }
    while (bin > 0 && above + (f32[HIST + bin] as number) <= target) {
      above += f32[HIST + bin] as number;
      bin--;
    }
    f32[aboveSlot] = above;
    return bin;
  }

  /** Re-read both thresholds from the tracked quantiles. */
  private retune(): void {
    const f32 = this.f32;
    const total = f32[TOTAL] as number;
    const { alertFloor, severeFloor, alertQuantile, severeQuantile } = this.params;
    const a = this.alertBin;
    const s = this.severeBin;
    const aboveA = f32[ABOVE_ALERT] as number;
    const aboveS = f32[ABOVE_SEVERE] as number;
    const qa = valueIn(a, f32[HIST + a] as number, aboveA, (1 - alertQuantile) * total);
    const qs = valueIn(s, f32[HIST + s] as number, aboveS, (1 - severeQuantile) * total);
    const alert = qa > alertFloor ? qa : alertFloor;
    const severe = qs > severeFloor ? qs : severeFloor;
    this.alert = alert;
    this.severe = severe > alert ? severe : alert;
  }

  /** Divide every weight by the increment (which becomes 1): same histogram, smaller numbers. */
  private rescale(): void {
    const f32 = this.f32;
    const factor = 1 / (f32[INCREMENT] as number);
    for (let bin = 0; bin < BINS; bin++) f32[HIST + bin] = (f32[HIST + bin] as number) * factor;
    f32[INCREMENT] = 1;
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
    f32[TOTAL] = total;
    f32[ABOVE_ALERT] = aboveAlert;
    f32[ABOVE_SEVERE] = aboveSevere;
    this.alertBin = this.track(this.alertBin, ABOVE_ALERT, this.params.alertQuantile);
    this.severeBin = this.track(this.severeBin, ABOVE_SEVERE, this.params.severeQuantile);
  }

  private load(state: DynamicSnapshotState): void {
    const f32 = this.f32;
    this.mode = MODES.indexOf(state.mode);
    this.calibrated = state.calibrated;
    this.forced = state.forced;
    this.hasTime = state.hasTime;
    this.count = state.count;
    this.recentMask = state.recentMask;
    this.recentCount = state.recentCount;
    this.pendingMask = state.pendingMask;
    this.pendingHead = state.pendingHead;
    this.pendingCount = state.pendingCount;
    this.alertBin = state.alertBin;
    this.severeBin = state.severeBin;
    f32.set(state.histogram, HIST);
    f32.set(state.bucketPoints, BUCKET_N);
    f32.set(state.bucketFlags, BUCKET_F);
    f32.set(state.pending, PENDING);
    f32[INCREMENT] = state.increment;
    f32[TOTAL] = state.total;
    f32[ABOVE_ALERT] = state.aboveAlert;
    f32[ABOVE_SEVERE] = state.aboveSevere;
    f32[WINDOW_N] = state.windowPoints;
    f32[WINDOW_F] = state.windowFlags;
    this.alert = state.alert;
    this.severe = state.severe;
    this.freezeStart = state.freezeStart;
    this.bucketId = state.bucketId;
    this.slot = bucketSlot(state.bucketId);
  }
}

/** Score whose tail weight is `target`, inside `bin` (weight `w`) with `above` above the bin. */
function valueIn(bin: number, w: number, above: number, target: number): number {
  const inside = w > 0 ? (target - above) / w : 0;
  return binTop(bin) - (inside < 1 ? inside : 1) * binWidth(bin);
}
