import { z } from 'zod';
import type { Level, Threshold, ThresholdSnapshot } from './threshold.js';
import { levelOf } from './static.js';

/**
 * Dynamic thresholds (seed §5): alert at the q99.5 and severe at the q99.9 quantile of the
 * recent *normal* scores, never below the floors (so only ever stricter than the detector's own
 * boundary), with a stability guard: thresholds freeze while flags come too fast, and recalibrate
 * once calm. Non-finite scores are `ok` and change nothing. The score memory, its cost per point
 * and the exact state rules: docs/thresholds.md.
 */
export const DYNAMIC_KIND = 'dynamic';

export const dynamicParamsSchema = z
  .strictObject({
    /** Number of recent normal scores the quantiles describe (effective sample size). */
    window: z.number().int().min(50).max(1_000_000).default(1000),
    alert_quantile: z.number().gt(0.5).lt(1).default(0.995),
    severe_quantile: z.number().gt(0.5).lt(1).default(0.999),
    /** Never alert below this score (the detectors' native boundary). */
    alert_floor: z.number().min(0).max(1).default(0.5),
    severe_floor: z.number().min(0).max(1).default(0.8),
    /** Scores taken before quantiles replace the floors, and again after each freeze. */
    min_normal: z.number().int().min(10).default(300),
    /** Event-time span over which volatility is judged (the seed's 5-minute check). */
    stability_window_ms: z.number().positive().default(300_000),
    /** Volatile when flags arrive this many times faster than the alert quantile implies. */
    volatile_factor: z.number().gt(1).default(10),
    /** Fewest flags that make the series volatile (in the window, or among `burst_points`). */
    min_flags: z.number().int().min(1).max(8).default(3),
    /** Span, in points, of the burst rule and of the wait of flagged scores before they enter. */
    burst_points: z.number().int().min(2).max(30).default(20),
    /** A freeze this long (and `min_normal` points) ends in a recalibration even if volatile. */
    max_freeze_ms: z.number().positive().default(1_800_000),
  })
  .refine((p) => p.severe_quantile > p.alert_quantile, {
    message: 'severe_quantile must be above alert_quantile',
    path: ['severe_quantile'],
  })
  .refine((p) => p.severe_floor >= p.alert_floor, {
    message: 'severe_floor must be at least alert_floor',
    path: ['severe_floor'],
  })
  .refine((p) => p.min_flags <= p.burst_points, {
    message: 'min_flags must not exceed burst_points',
    path: ['min_flags'],
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
/** Flagged scores waiting for the end of their burst span (min_flags ≤ 8 bounds the queue). */
const PENDING_SLOTS = 8;
/** Fewest training scores `calibrate` takes as quantiles (fewer leave the threshold as it is). */
const MIN_CALIBRATION = 50;
/** Share of the old histogram weight kept when a recalibration starts. */
const RECALIBRATION_KEEP = 0.25;
/** Rescale the histogram when the lazy-decay increment passes this (float32 max is 3.4e38). */
const RESCALE_AT = 1e30;
/** Stable points between two re-reads of the thresholds from the histogram. */
const RETUNE_EVERY = 16;
/**
 * Relative margin below a bucket boundary from which the exact bucket id is computed: far wider
 * than the rounding in the boundary, so the cheap `t < nextBucketAt` never hides a bucket change.
 */
const BOUNDARY_MARGIN = 2 ** -40;

/**
 * Float32 layout: histogram bins, bucket point counts, bucket flag counts, pending scores.
 * Float32 is enough for weights (relative, and resummed at every rescale) and for counts below
 * 2^24. The current bucket's point count lives in a field until the bucket is closed.
 */
const HIST = 0;
const BUCKET_N = HIST + BINS;
const BUCKET_F = BUCKET_N + BUCKETS;
const PENDING = BUCKET_F + BUCKETS;
const SIZE = PENDING + PENDING_SLOTS;

/**
 * Slots of the float64 scalars, kept in one array of doubles: V8 stores such an array's elements
 * unboxed, where each double field of an object would be a separate 16-byte heap number (and a
 * second typed-array view on the float32 buffer would cost more than both).
 */
const ALERT = 0;
const SEVERE = 1;
/** Weight of the last admitted score; growing it is decaying every older weight. */
const INCREMENT = 2;
/** Sum of the bins (kept exactly as stored, float32 rounding included). */
const TOTAL = 3;
const FREEZE_START = 4;
const BUCKET_ID = 5;
/** Times below this are in the current bucket: the common path skips the bucket arithmetic. */
const NEXT_BUCKET_AT = 6;

const MODES = ['calibrating', 'stable', 'frozen'] as const;
const CALIBRATING = 0;
const STABLE = 1;
const FROZEN = 2;

/**
 * BITS: layout of the packed small fields (12 bits, so always a small integer): three flags, the
 * pending ring's head (0–7) and length (0–8) and the bucket slot (0–9).
 */
const CALIBRATED_BIT = 1;
const FORCED_BIT = 1 << 1;
const HAS_TIME_BIT = 1 << 2;
const HEAD_SHIFT = 3;
const HEAD_MASK = 0b111;
const COUNT_SHIFT = 6;
const COUNT_MASK = 0b1111;
const SLOT_SHIFT = 10;
const SLOT_MASK = 0b1111;

/** Constants derived from one params object, computed once and shared like the params. */
interface Derived {
  readonly params: Readonly<DynamicParams>;
  /** 1 / (1 − α): the lazy-decay increment's growth per admitted score. */
  readonly growth: number;
  readonly alertTail: number;
  readonly severeTail: number;
  /** Flags per point in the window above which the series is volatile. */
  readonly flagRate: number;
  readonly minFlags: number;
  /** Event time per bucket of the stability window. */
  readonly bucketMs: number;
}

const derivedByParams = new WeakMap<Readonly<DynamicParams>, Derived>();

function derive(params: Readonly<DynamicParams>): Derived {
  let derived = derivedByParams.get(params);
  if (derived === undefined) {
    derived = {
      params,
      growth: (params.window + 1) / (params.window - 1),
      alertTail: 1 - params.alert_quantile,
      severeTail: 1 - params.severe_quantile,
      flagRate: params.volatile_factor * (1 - params.alert_quantile),
      minFlags: params.min_flags,
      bucketMs: params.stability_window_ms / BUCKETS,
    };
    derivedByParams.set(params, derived);
  }
  return derived;
}

/**
 * First event time of bucket `id + 1`, less the margin (see BOUNDARY_MARGIN). Only a filter: the
 * bucket id itself is always `⌊t · 10 / stability_window_ms⌋`.
 */
function nextBoundary(id: number, bucketMs: number): number {
  const start = (id + 1) * bucketMs;
  return start - (Math.abs(start) + 1) * BOUNDARY_MARGIN;
}

/** Bin of a finite score; truncation (`| 0`) instead of Math.floor, guarded to stay in range. */
function binOf(score: number): number {
  if (score < 0.5) return score > 0 ? (score * 32) | 0 : 0;
  if (score >= 1) return TOP_BIN;
  const bin = (LOW_BINS + (score - 0.5) * 96) | 0;
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
const points = z.number().int().nonnegative();

export const dynamicStateSchema = z.object({
  mode: z.enum(MODES),
  calibrated: z.boolean(),
  forced: z.boolean(),
  hasTime: z.boolean(),
  count: points,
  untilRetune: z.number().int().min(1).max(RETUNE_EVERY),
  recentMask: z.number().int().nonnegative(),
  recentCount: points,
  pendingMask: z.number().int().nonnegative(),
  pendingHead: z
    .number()
    .int()
    .min(0)
    .max(PENDING_SLOTS - 1),
  pendingCount: z.number().int().min(0).max(PENDING_SLOTS),
  pending: z.array(finite).length(PENDING_SLOTS),
  histogram: z.array(weight).length(BINS),
  bucketPoints: z.array(weight).length(BUCKETS),
  bucketFlags: z.array(weight).length(BUCKETS),
  currentPoints: points,
  windowPoints: points,
  windowFlags: points,
  increment: weight,
  total: weight,
  alert: finite,
  severe: finite,
  freezeStart: finite,
  bucketId: finite,
  slot: z
    .number()
    .int()
    .min(0)
    .max(BUCKETS - 1),
});

export type DynamicSnapshotState = z.infer<typeof dynamicStateSchema>;

export class DynamicThreshold implements Threshold {
  /** The params and what follows from them, shared by every series (no per-series copies). */
  private readonly derived: Derived;
  /** The float64 scalars, at ALERT … NEXT_BUCKET_AT. */
  private readonly scalars: number[];
  /** Histogram, buckets and pending scores (HIST …). */
  private readonly f32 = new Float32Array(SIZE);
  /**
   * The cold small fields packed in one small integer (see BITS): one object slot instead of
   * six, read and written through the private accessors below.
   */
  private bits = 0;
  /** Hot on every point, so plain fields rather than bits. */
  private mode = CALIBRATING;
  /** Stable points left before the thresholds are re-read. */
  private untilRetune = RETUNE_EVERY;
  /** Points seen in the current calibration or freeze. */
  private count = 0;
  /** Points in the current bucket, and in the window's closed buckets. */
  private currentPoints = 0;
  private windowPoints = 0;
  /** Flags in the whole window, current bucket included. */
  private windowFlags = 0;
  /** Bit i set: the point i steps back was flagged (last `burst_points` points). */
  private recentMask = 0;
  private recentCount = 0;
  /**
   * Bit i set: the point i steps back is a pending flagged score, queued in PENDING. Always a
   * subset of `recentMask`, so `recentMask === 0` means there is nothing to shift or release.
   */
  private pendingMask = 0;

  /** `params` is kept by reference when frozen, so that series can share one object. */
  constructor(params: DynamicParams, state?: DynamicSnapshotState) {
    this.derived = derive(Object.isFrozen(params) ? params : Object.freeze({ ...params }));
    // A literal of doubles (-0 and -Infinity make it one), so the elements stay unboxed. The
    // -0 are the fields' old starting values: a fresh threshold's snapshot is unchanged.
    this.scalars = [params.alert_floor, params.severe_floor, 1, -0, -0, -0, -Infinity];
    if (state) this.load(state);
  }

  get kind(): string {
    return DYNAMIC_KIND;
  }

  private get calibrated(): boolean {
    return (this.bits & CALIBRATED_BIT) !== 0;
  }

  private set calibrated(on: boolean) {
    this.bits = on ? this.bits | CALIBRATED_BIT : this.bits & ~CALIBRATED_BIT;
  }

  /** The running recalibration follows a timed-out freeze (every score enters unclipped). */
  private get forced(): boolean {
    return (this.bits & FORCED_BIT) !== 0;
  }

  private set forced(on: boolean) {
    this.bits = on ? this.bits | FORCED_BIT : this.bits & ~FORCED_BIT;
  }

  private get hasTime(): boolean {
    return (this.bits & HAS_TIME_BIT) !== 0;
  }

  private set hasTime(on: boolean) {
    this.bits = on ? this.bits | HAS_TIME_BIT : this.bits & ~HAS_TIME_BIT;
  }

  /** Ring position of the oldest pending score, and the number of pending scores. */
  private get pendingHead(): number {
    return (this.bits >>> HEAD_SHIFT) & HEAD_MASK;
  }

  private set pendingHead(head: number) {
    this.bits = (this.bits & ~(HEAD_MASK << HEAD_SHIFT)) | (head << HEAD_SHIFT);
  }

  private get pendingCount(): number {
    return (this.bits >>> COUNT_SHIFT) & COUNT_MASK;
  }

  private set pendingCount(count: number) {
    this.bits = (this.bits & ~(COUNT_MASK << COUNT_SHIFT)) | (count << COUNT_SHIFT);
  }

  /**
   * Ring position of the current bucket. It moves with the bucket id, but is kept rather than
   * derived (`id mod 10` costs two integer divisions), and stays put when the whole window is
   * emptied at once.
   */
  private get slot(): number {
    return (this.bits >>> SLOT_SHIFT) & SLOT_MASK;
  }

  private set slot(slot: number) {
    this.bits = (this.bits & ~(SLOT_MASK << SLOT_SHIFT)) | (slot << SLOT_SHIFT);
  }

  get params(): Readonly<DynamicParams> {
    return this.derived.params;
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
    return this.scalars[ALERT] as number;
  }

  alertScore(): number {
    return this.alertThreshold;
  }

  get severeThreshold(): number {
    return this.scalars[SEVERE] as number;
  }

  /** The histogram's current estimate of quantile `q` (for tests and diagnostics; O(bins)). */
  quantile(q: number): number {
    const f32 = this.f32;
    const target = (1 - q) * (this.scalars[TOTAL] as number);
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
    if (timeMs >= (this.scalars[NEXT_BUCKET_AT] as number)) this.advance(timeMs);
    this.currentPoints++;
    // Not frozen, unflagged, no flag in the burst span and fewer than min_flags in the window: no
    // rule can fire (volatility needs a new flag or min_flags old ones), so the score just enters.
    if (
      score < (this.scalars[ALERT] as number) &&
      this.recentMask === 0 &&
      this.windowFlags < this.derived.minFlags &&
      this.mode !== FROZEN
    ) {
      this.add(binOf(score)); // below alert ≤ severe: never clipped
      if (this.mode === STABLE) {
        if (--this.untilRetune === 0) this.retune();
      } else if (++this.count >= this.params.min_normal) this.endCalibration();
      return 'ok';
    }
    return this.classifyRest(timeMs, score);
  }

  /**
   * Replace the histogram with a training period's scores and end the calibration: the
   * quantiles come from them at once (never below the floors). Fewer than `MIN_CALIBRATION`
   * finite scores change nothing.
   */
  calibrate(scores: ArrayLike<number>): void {
    let finiteScores = 0;
    for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i])) finiteScores++;
    if (finiteScores < MIN_CALIBRATION) return;
    this.f32.fill(0, HIST, HIST + BINS);
    this.scalars[TOTAL] = 0;
    this.scalars[INCREMENT] = 1;
    for (let i = 0; i < scores.length; i++) {
      const score = scores[i] as number;
      if (Number.isFinite(score)) this.add(binOf(score));
    }
    this.count = 0;
    this.endCalibration();
  }

  snapshot(): ThresholdSnapshot {
    const f32 = this.f32;
    const state: DynamicSnapshotState = {
      mode: MODES[this.mode] ?? 'calibrating',
      calibrated: this.calibrated,
      forced: this.forced,
      hasTime: this.hasTime,
      count: this.count,
      untilRetune: this.untilRetune,
      recentMask: this.recentMask,
      recentCount: this.recentCount,
      pendingMask: this.pendingMask,
      pendingHead: this.pendingHead,
      pendingCount: this.pendingCount,
      pending: Array.from(f32.subarray(PENDING, PENDING + PENDING_SLOTS)),
      histogram: Array.from(f32.subarray(HIST, HIST + BINS)),
      bucketPoints: Array.from(f32.subarray(BUCKET_N, BUCKET_N + BUCKETS)),
      bucketFlags: Array.from(f32.subarray(BUCKET_F, BUCKET_F + BUCKETS)),
      currentPoints: this.currentPoints,
      windowPoints: this.windowPoints,
      windowFlags: this.windowFlags,
      increment: this.scalars[INCREMENT] as number,
      total: this.scalars[TOTAL] as number,
      alert: this.scalars[ALERT] as number,
      severe: this.scalars[SEVERE] as number,
      freezeStart: this.scalars[FREEZE_START] as number,
      bucketId: this.scalars[BUCKET_ID] as number,
      slot: this.slot,
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  /** Every rule, for the points the common path cannot take (already counted in the window). */
  private classifyRest(timeMs: number, score: number): Level {
    const level = levelOf(score, this.scalars[ALERT] as number, this.scalars[SEVERE] as number);
    const flagged = level !== 'ok';
    if (flagged) {
      const f32 = this.f32;
      f32[BUCKET_F + this.slot] = (f32[BUCKET_F + this.slot] as number) + 1;
      this.windowFlags++;
    }
    this.shift(flagged);
    const { minFlags, flagRate } = this.derived;
    const expected = flagRate * (this.windowPoints + this.currentPoints);
    const trigger = expected > minFlags ? expected : minFlags;
    const windowFlags = this.windowFlags;
    const volatile = windowFlags >= trigger || this.recentCount >= minFlags;
    if (this.mode === STABLE) {
      if (volatile) this.freeze(timeMs);
      else {
        this.take(score, flagged);
        if (--this.untilRetune === 0) this.retune();
      }
      return level;
    }
    const minNormal = this.params.min_normal;
    if (this.mode === FROZEN) {
      this.count++;
      const timedOut =
        timeMs - (this.scalars[FREEZE_START] as number) >= this.params.max_freeze_ms &&
        this.count >= minNormal;
      const calm = windowFlags <= trigger / 2 && this.recentCount === 0;
      if (!timedOut && !calm) return level;
      this.startCalibration(timedOut);
    } else if (!this.forced && volatile) {
      this.freeze(timeMs);
      return level;
    }
    if (this.forced) this.admit(score, false);
    else this.take(score, flagged);
    if (++this.count >= minNormal) this.endCalibration();
    return level;
  }

  private endCalibration(): void {
    this.mode = STABLE;
    this.calibrated = true;
    this.forced = false;
    this.clearWindow();
    this.retune();
  }

  /**
   * Slide the burst span by one point. A pending score whose span ends without a freeze is
   * admitted now.
   */
  private shift(flagged: boolean): void {
    const span = this.params.burst_points;
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
    // Never full: each pending score is one of the < min_flags ≤ 8 recent flags (else volatile).
    if (this.pendingCount === PENDING_SLOTS) this.release();
    this.f32[PENDING + ((this.pendingHead + this.pendingCount) % PENDING_SLOTS)] = score;
    this.pendingCount++;
    this.pendingMask |= 1;
  }

  /**
   * Move the window to the bucket of `timeMs` if it is a later one, emptying the buckets that
   * slid out of it. Time going backwards (or not a number) stays in the current bucket.
   */
  private advance(timeMs: number): void {
    const windowMs = this.params.stability_window_ms;
    const id = Math.floor((timeMs * BUCKETS) / windowMs);
    if (id - id !== 0) return;
    if (this.hasTime) {
      // Within the margin below the boundary: still the current bucket.
      if (id <= (this.scalars[BUCKET_ID] as number)) return;
      const f32 = this.f32;
      if (id - (this.scalars[BUCKET_ID] as number) >= BUCKETS) {
        // The whole window slid out (at every point when points are sparser than the window).
        // Zero sums mean zero closed buckets: nothing to clear.
        if (this.windowPoints !== 0 || this.windowFlags !== 0) {
          f32.fill(0, BUCKET_N, BUCKET_F + BUCKETS);
          this.windowPoints = 0;
          this.windowFlags = 0;
        }
      } else {
        // Close the current bucket, then drop those that slid out (the new current one among
        // them).
        let slot = this.slot;
        f32[BUCKET_N + slot] = this.currentPoints;
        this.windowPoints += this.currentPoints;
        for (let k = id - (this.scalars[BUCKET_ID] as number); k > 0; k--) {
          slot = slot === BUCKETS - 1 ? 0 : slot + 1;
          // `| 0`: whole counts, and the fields stay small integers (unboxed).
          this.windowPoints -= (f32[BUCKET_N + slot] as number) | 0;
          this.windowFlags -= (f32[BUCKET_F + slot] as number) | 0;
          f32[BUCKET_N + slot] = 0;
          f32[BUCKET_F + slot] = 0;
        }
        this.slot = slot;
      }
      this.currentPoints = 0;
    }
    this.hasTime = true;
    this.scalars[BUCKET_ID] = id;
    this.scalars[NEXT_BUCKET_AT] = nextBoundary(id, this.derived.bucketMs);
  }

  /**
   * Flags judged against thresholds that have just been replaced are no evidence any more; the
   * scores still pending (they survived the calibration) enter now.
   */
  private clearWindow(): void {
    while (this.pendingCount > 0) this.release();
    this.pendingMask = 0;
    this.f32.fill(0, BUCKET_N, BUCKET_F + BUCKETS);
    this.currentPoints = 0;
    this.windowPoints = 0;
    this.windowFlags = 0;
    this.recentMask = 0;
    this.recentCount = 0;
  }

  private freeze(timeMs: number): void {
    this.mode = FROZEN;
    this.scalars[FREEZE_START] = timeMs;
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

  /** Add one score to the histogram, clipped to just above severe when `clip`. */
  private admit(score: number, clip: boolean): void {
    const ceiling = (this.scalars[SEVERE] as number) + FINE;
    this.add(binOf(clip && score > ceiling ? ceiling : score));
  }

  /** One more score in `bin`, weighted by the grown increment (which decays all the others). */
  private add(bin: number): void {
    const scalars = this.scalars;
    const increment = (scalars[INCREMENT] as number) * this.derived.growth;
    scalars[INCREMENT] = increment;
    const f32 = this.f32;
    const before = f32[HIST + bin] as number;
    f32[HIST + bin] = before + increment;
    // The weight actually stored (float32-rounded), so the total matches the bins.
    scalars[TOTAL] = (scalars[TOTAL] as number) + ((f32[HIST + bin] as number) - before);
    if (increment > RESCALE_AT) this.rescale();
  }

  /**
   * Re-read both thresholds: scan down from the top bin to the bin where each quantile's tail
   * weight is reached, and interpolate within it.
   */
  private retune(): void {
    this.untilRetune = RETUNE_EVERY;
    const f32 = this.f32;
    const { alertTail, severeTail } = this.derived;
    const total = this.scalars[TOTAL] as number;
    const severeTarget = severeTail * total;
    const alertTarget = alertTail * total;
    let bin = TOP_BIN;
    let w = f32[HIST + bin] as number;
    let above = 0;
    while (bin > 0 && above + w <= severeTarget) {
      above += w;
      w = f32[HIST + --bin] as number;
    }
    const qs = valueIn(bin, w, above, severeTarget);
    // The alert quantile is at or below the severe one: carry on down from there.
    while (bin > 0 && above + w <= alertTarget) {
      above += w;
      w = f32[HIST + --bin] as number;
    }
    const qa = valueIn(bin, w, above, alertTarget);
    const { alert_floor: alertFloor, severe_floor: severeFloor } = this.params;
    const alert = qa > alertFloor ? qa : alertFloor;
    const severe = qs > severeFloor ? qs : severeFloor;
    this.scalars[ALERT] = alert;
    this.scalars[SEVERE] = severe > alert ? severe : alert;
  }

  /** Divide every weight by the increment (which becomes 1): same histogram, smaller numbers. */
  private rescale(): void {
    const f32 = this.f32;
    const factor = 1 / (this.scalars[INCREMENT] as number);
    for (let bin = 0; bin < BINS; bin++) f32[HIST + bin] = (f32[HIST + bin] as number) * factor;
    this.scalars[INCREMENT] = 1;
    this.resum();
  }

  /** Recompute the total exactly from the bins. */
  private resum(): void {
    const f32 = this.f32;
    let total = 0;
    for (let bin = 0; bin < BINS; bin++) total += f32[HIST + bin] as number;
    this.scalars[TOTAL] = total;
  }

  private load(state: DynamicSnapshotState): void {
    const f32 = this.f32;
    this.mode = MODES.indexOf(state.mode);
    this.calibrated = state.calibrated;
    this.forced = state.forced;
    this.hasTime = state.hasTime;
    this.count = state.count;
    this.untilRetune = state.untilRetune;
    this.recentMask = state.recentMask;
    this.recentCount = state.recentCount;
    this.pendingMask = state.pendingMask;
    this.pendingHead = state.pendingHead;
    this.pendingCount = state.pendingCount;
    f32.set(state.histogram, HIST);
    f32.set(state.bucketPoints, BUCKET_N);
    f32.set(state.bucketFlags, BUCKET_F);
    f32.set(state.pending, PENDING);
    this.currentPoints = state.currentPoints;
    this.windowPoints = state.windowPoints;
    this.windowFlags = state.windowFlags;
    this.scalars[INCREMENT] = state.increment;
    this.scalars[TOTAL] = state.total;
    this.scalars[ALERT] = state.alert;
    this.scalars[SEVERE] = state.severe;
    this.scalars[FREEZE_START] = state.freezeStart;
    this.scalars[BUCKET_ID] = state.bucketId;
    this.slot = state.slot;
    this.scalars[NEXT_BUCKET_AT] = state.hasTime
      ? nextBoundary(state.bucketId, this.derived.bucketMs)
      : -Infinity;
  }
}

/** Score whose tail weight is `target`, inside `bin` (weight `w`) with `above` above the bin. */
function valueIn(bin: number, w: number, above: number, target: number): number {
  const inside = w > 0 ? (target - above) / w : 0;
  return binTop(bin) - (inside < 1 ? inside : 1) * binWidth(bin);
}
