import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import type { EvidenceItem, ExplainingDetector, Explanation } from './explanation.js';
import { PeaksOverThreshold, PeaksOverThreshold32 } from '../stats/peaks-over-threshold.js';
import { LevelSeasonModel } from '../stats/level-season.js';
import { SeasonalEnvelope } from '../stats/seasonal-envelope.js';
import { ratioScore } from './score-map.js';
import { ResidualCusum, cusumStateSchema } from '../stats/cusum.js';
import type { CusumParams } from '../stats/cusum.js';
import { finiteNumber, parseSnapshot, sharedParams } from './snapshot-parts.js';

export const EXTREME_VALUE_KIND = 'extreme-value';

export const extremeValueParamsSchema = z.strictObject({
  /** Points learned before scoring starts. */
  warmup: z.int().min(1).default(150),
  /** K of the peaks-over-threshold tail fit: the K largest values seen define the tail. */
  tail_size: z.int().min(5).max(10_000).default(75),
  /**
   * Cap a tail probability at the observed frequency once this many of the K largest values were
   * at least as extreme (0: no cap): repeated "extremes" stop looking rarer than they are.
   */
  tail_min_count: z.int().min(0).default(5),
  /** A tail probability of 10^-this maps to score 0.5 (4: one point in 10,000). */
  alert_log10_p: z.number().positive().default(4),
  /**
   * Points before a record counts: the range of the first points is too narrow to mean much
   * (on a daily cycle, every hour of the first day sets a new high).
   */
  record_warmup: z.int().min(1).default(300),
  /** A value beyond every value seen before, by this share of the seen range, maps to 0.5. */
  record_boundary: z.number().positive().default(0.05),
  /** Length of the seasonal cycle in ms (a day); 0 turns the seasonal residual off. */
  season_ms: z.int().min(0).default(86_400_000),
  /** Weight of the newest value in a seasonal slot's offset. */
  season_alpha: z.number().gt(0).max(1).default(0.1),
  /** Weight of the newest value in the series' level (the seasonal model is level + offset). */
  level_alpha: z.number().min(0).max(1).default(0.2),
  /**
   * Level weight of a second, slow forecaster (0 turns it off). The two forecasts disagree only
   * after the series has recently changed; that disagreement, tail-calibrated, is evidence of
   * its own (it catches a day whose pattern breaks, which the fast level absorbs).
   */
  slow_level_alpha: z.number().min(0).max(1).default(0.005),
  /** Cap on the slots per cycle, so fast series keep bounded memory. */
  season_max_slots: z.int().min(1).max(100_000).default(1440),
  /**
   * One alert per incident: a point scores only when its evidence beats every point of the
   * previous `cooldown_points` (0 turns this off and every point keeps its evidence).
   */
  cooldown_points: z.int().min(0).max(100_000).default(50),
  /**
   * A run of identical values is stuck-sensor evidence only when it is this many times longer
   * than the longest run that has ended so far (series that legitimately hold values are spared).
   */
  stuck_factor: z.number().min(1).default(6),
  /**
   * Days of the seasonal envelope (0 turns it off): a value already seen at this time of day
   * within this many days is not a value-tail or residual extreme (daily peaks stop alarming).
   */
  envelope_days: z.int().min(0).max(366).default(7),
  /** Time-of-day buckets of the envelope per season (24: hours of a day). */
  envelope_buckets: z.int().min(1).max(1440).default(24),
  /** Neighbouring buckets on each side read with the envelope, so a peak may come a bit early or late. */
  envelope_width: z.int().min(0).max(720).default(1),
  /**
   * Online calibration of each tail piece: a piece that reaches -log10 p = calibration_log10_p
   * more often than p says has its surprise lowered by log10 of the excess (never raised), so a
   * series whose tails are not exponential stops over-alarming.
   */
  calibration: z.boolean().default(true),
  /** The p (as -log10 p) whose exceedance frequency calibrates a piece (2: p = 0.01). */
  calibration_log10_p: z.number().positive().default(2),
  /** Pseudo-count on both sides of the excess ratio, so a young piece is not corrected by one hit. */
  calibration_prior: z.number().positive().default(1),
  /**
   * Shape novelty: FIFO memory of past shingles (0 turns the piece off). The distance of the
   * current shingle to its nearest remembered one, tail-calibrated, catches pattern changes
   * that stay inside the usual range of values.
   */
  shape_memory: z.int().min(0).max(4096).default(128),
  /** Values per shingle (mean removed, divided by the running mean |step|). */
  shape_length: z.int().min(2).max(64).default(4),
  /** A shingle enters the memory every this many points (the memory then spans stride × size). */
  shape_stride: z.int().min(1).max(1000).default(2),
  /** Points a shingle waits before it enters the memory, so an incident is not its own neighbour. */
  shape_lag: z.int().min(0).max(100_000).default(32),
  /** Weight floor of the running mean |step| that scales shingles (slow: units, not incidents). */
  shape_scale_alpha: z.number().gt(0).max(1).default(0.001),
  /**
   * Level-shift evidence: a two-sided CUSUM of the slow forecaster's residual with allowance k
   * standard deviations (0 turns it off), its tail fitted on its own sums (src/core/stats/cusum.ts).
   */
  cusum_k: z.number().min(0).max(10).default(0.5),
  /** Cap on one standardised residual's step in the CUSUM, in standard deviations. */
  cusum_clip: z.number().positive().default(3),
  /** Weight floor of the CUSUM's residual scale (1 / its memory in points). */
  cusum_scale_alpha: z.number().gt(0).max(1).default(0.01),
  /** K of the tail fitted on the CUSUM's sums. */
  cusum_tail_size: z.int().min(5).max(10_000).default(30),
});

export type ExtremeValueParams = z.infer<typeof extremeValueParamsSchema>;

const potState = z.object({
  heap: z.array(finiteNumber),
  sum: finiteNumber,
  seen: z.int().nonnegative(),
});

const levelSeasonState = z.object({
  firstTime: finiteNumber.nullable(),
  level: finiteNumber.nullable(),
  offsets: z.array(finiteNumber.nullable()).nullable(),
});

const stateSchema = z.object({
  count: z.int().nonnegative(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  residualTail: potState,
  upperTail: potState,
  lowerTail: potState,
  season: levelSeasonState,
  slowSeason: levelSeasonState,
  disagreementTail: potState,
  recent: z.array(finiteNumber),
  recentHead: z.int().nonnegative(),
  last: z.number().nullable(),
  run: z.int().nonnegative(),
  longestRun: z.int().nonnegative(),
  step: z.number().positive().nullable(),
  runTail: potState,
  envelope: z
    .object({
      days: z.array(z.int().nullable()),
      highs: z.array(finiteNumber.nullable()),
      lows: z.array(finiteNumber.nullable()),
    })
    .nullable(),
  exceedances: z.array(z.int().nonnegative()),
  scored: z.int().nonnegative(),
  shapeTail: potState,
  shapeRecent: z.array(finiteNumber),
  shapeHead: z.int().nonnegative(),
  shapeCount: z.int().nonnegative(),
  shapeMemory: z.array(finiteNumber),
  shapeMemoryCount: z.int().nonnegative(),
  shapeMemoryInserts: z.int().nonnegative(),
  shapeDelay: z.array(finiteNumber),
  shapeDelayInserts: z.int().nonnegative(),
  shapeScale: finiteNumber,
  shapeScaleCount: z.int().nonnegative(),
  /** Absent in snapshots from before the CUSUM: it then starts afresh. */
  cusum: cusumStateSchema.optional(),
});

type ExtremeValueState = z.infer<typeof stateSchema>;
type PotState = z.infer<typeof potState>;

/** Float64 scalars of a tail whose heap is in the float32 region. */
const SCALARS = PeaksOverThreshold.SCALARS;

/** Offsets of the parts of a detector's store; one layout per params object, shared. */
interface StoreLayout {
  readonly tail: number;
  /** The two float64 tails (after the scalars of the four float32 ones). */
  readonly tails: number;
  /** Float32 region: the four float32 heaps, the shape memory, the delay line. */
  readonly heaps32: number;
  readonly shapeMemory: number;
  readonly recent: number;
  readonly shapeRecent: number;
  readonly shapeDelayRows: number;
  readonly shapeDelay: number;
  readonly exceedances: number;
  readonly pendingRaw: number;
  /** The CUSUM's scalars (float64) and its tail's heap (float32), appended to each region. */
  readonly cusum: number;
  readonly cusumHeap: number;
  /** Float64 slots, then float32 slots (the shape memory, then the delay line from `shapeDelay`). */
  readonly size: number;
  readonly size32: number;
}

const cusumByParams = new WeakMap<Readonly<ExtremeValueParams>, CusumParams>();

/** The CUSUM's params, one object per params object (shared by its series, like the layout). */
function cusumParamsOf(params: Readonly<ExtremeValueParams>): CusumParams {
  let cusum = cusumByParams.get(params);
  if (cusum === undefined) {
    cusum = Object.freeze({
      k: params.cusum_k,
      clip: params.cusum_clip,
      scaleAlpha: params.cusum_scale_alpha,
      resetLog10p: params.alert_log10_p,
      calibrationLog10p: params.calibration ? params.calibration_log10_p : 0,
      calibrationPrior: params.calibration_prior,
      tailSize: params.cusum_tail_size,
      tailMinCount: params.tail_min_count,
    });
    cusumByParams.set(params, cusum);
  }
  return cusum;
}

const layoutByParams = new WeakMap<Readonly<ExtremeValueParams>, StoreLayout>();

function layoutOf(params: Readonly<ExtremeValueParams>): StoreLayout {
  let layout = layoutByParams.get(params);
  if (layout === undefined) {
    const w = params.shape_length;
    const tail = PeaksOverThreshold.slots(params.tail_size);
    const shapeDelayRows = Math.max(1, Math.floor(params.shape_lag / params.shape_stride));
    const tails = 4 * SCALARS;
    const recent = tails + 2 * tail;
    const shapeRecent = recent + params.cooldown_points;
    const exceedances = shapeRecent + w;
    const pendingRaw = exceedances + CALIBRATED;
    const shapeMemory = 4 * params.tail_size;
    const shapeDelay = shapeMemory + params.shape_memory * w;
    const cusumSlots = params.cusum_k > 0 ? ResidualCusum.SCALARS : 0;
    const cusumHeapSlots = params.cusum_k > 0 ? params.cusum_tail_size : 0;
    layout = {
      tail,
      tails,
      heaps32: 0,
      shapeMemory,
      recent,
      shapeRecent,
      shapeDelayRows,
      shapeDelay,
      exceedances,
      pendingRaw,
      cusum: pendingRaw + CALIBRATED,
      cusumHeap: shapeDelay + shapeDelayRows * w,
      size: pendingRaw + CALIBRATED + cusumSlots,
      size32: shapeDelay + shapeDelayRows * w + cusumHeapSlots,
    };
    layoutByParams.set(params, layout);
  }
  return layout;
}

/**
 * Scratch arrays shared by every detector: each is filled and read within one synchronous call
 * (`score`, `learn`, `explain`), never across calls, so per-series copies would only cost memory.
 */
const SCRATCH = {
  pieces: new Float64Array(8), // PIECE_NAMES.length (declared below)
  raw: new Float64Array(5), // CALIBRATED
  shingles: new Map<number, Float64Array>(),
};

function scratchShingle(length: number): Float64Array {
  let shingle = SCRATCH.shingles.get(length);
  if (shingle === undefined) {
    shingle = new Float64Array(length);
    SCRATCH.shingles.set(length, shingle);
  }
  return shingle;
}

const EMPTY_SEASON = { firstTime: null, level: null, offsets: null };

/** Indexes of the pieces of evidence in `ExtremeValueDetector.pieces`. */
const RESIDUAL = 0;
const UPPER = 1;
const LOWER = 2;
const STUCK = 3;
const DISAGREEMENT = 4;
const SHAPE = 5;
const LEVEL_SHIFT = 6;
const RECORD = 7;
/** The calibrated pieces are the first CALIBRATED ones. */
const CALIBRATED = 5;
const PIECE_NAMES = [
  'seasonal-residual',
  'upper-tail',
  'lower-tail',
  'stuck',
  'forecast-disagreement',
  'shape',
  'level-shift',
  'record',
];

/**
 * Extreme-value evidence with one alert per incident — the `default` strategy's detector. Pieces
 * of evidence (seasonal residual, forecast disagreement, value tails, stuck runs, shape novelty,
 * records), each a tail probability fitted on the series' own history or a plain fact, combined by
 * max; a point scores only if it beats every point of the last `cooldown_points`. The pieces, the
 * envelope and calibration, the params: docs/detectors.md, "extreme-value"; what was tuned on
 * which data: docs/nab.md.
 */
export class ExtremeValueDetector implements Detector, ExplainingDetector {
  readonly kind = EXTREME_VALUE_KIND;
  readonly params: Readonly<ExtremeValueParams>;
  private count = 0;
  private low = Number.POSITIVE_INFINITY;
  private high = Number.NEGATIVE_INFINITY;
  private readonly residualTail: PeaksOverThreshold;
  private readonly upperTail: PeaksOverThreshold;
  private readonly lowerTail: PeaksOverThreshold;
  /** Lengths of runs of identical values, in the same tail model (scale floor: one point). */
  private readonly runTail: PeaksOverThreshold;
  private readonly season: LevelSeasonModel | undefined;
  private readonly slowSeason: LevelSeasonModel | undefined;
  private readonly disagreementTail: PeaksOverThreshold;
  private readonly envelope: SeasonalEnvelope | undefined;
  /**
   * The series' fixed-size numeric state in one array (one allocation instead of sixteen): the
   * six tails, the cool-down ring, the shape rings and memory, the calibration counts and the
   * pending raw pieces. The parts below are views by offset, or subarrays of it.
   */
  private readonly store: Float64Array;
  /** Scored points at which each calibrated piece reached calibration_log10_p, and their count. */
  private readonly exceedances: Float64Array;
  private scored = 0;
  /** 10^-calibration_log10_p: how often a calibrated piece should reach it. */
  private readonly nominal: number;
  private readonly shapeTail: PeaksOverThreshold;
  /** The last `shape_length` values learnt (a ring; `shapeHead` is the next slot written). */
  private readonly shapeRecent: Float64Array;
  private shapeHead = 0;
  private shapeCount = 0;
  /**
   * Remembered shingles (a FIFO of `shape_memory` rows) and the delay line feeding it, in float32:
   * nearest-neighbour distances between shingles in units of the usual step need no more (NAB
   * scores unchanged to 10^-6; docs/detectors.md, "Memory per series").
   */
  private readonly shapeMemory: Float32Array;
  private shapeMemoryCount = 0;
  private shapeMemoryInserts = 0;
  private readonly shapeDelay: Float32Array;
  private readonly shapeDelayRows: number;
  private shapeDelayInserts = 0;
  /** Running mean |x_t - x_{t-1}|: the unit of a shingle. */
  private shapeScale = 0;
  private shapeScaleCount = 0;
  /** Scratch: the current shingle (shared by every detector: see SCRATCH). */
  private readonly shingle: Float64Array;
  /** Evidence of the last `cooldown_points` points (a ring). */
  private readonly recent: Float64Array;
  private recentHead = 0;
  private last = Number.NaN;
  /** Repeats of `last` so far, and the longest run of repeats that has ended. */
  private run = 0;
  private longestRun = 0;
  /** Smallest positive change between consecutive values: the data's resolution. */
  private step = Number.POSITIVE_INFINITY;
  /** Scratch for `pieces`: -log10 p of the tail pieces, the record's score. */
  private readonly scratch = SCRATCH.pieces;
  /** Scratch for `pieces`: the calibrated pieces before calibration. */
  private readonly raw = SCRATCH.raw;
  /** Evidence computed by `score`, reused by `learn` for the same point. */
  private pendingTime = Number.NaN;
  private pendingValue = Number.NaN;
  private pendingEvidence = 0;
  private pendingShape = Number.NaN;
  private readonly pendingRaw: Float64Array;
  /** Level-shift evidence (absent when cusum_k is 0 or there is no season). */
  private readonly cusum: ResidualCusum | undefined;

  /** `params` is kept by reference when frozen, so that series can share one object. */
  constructor(params: ExtremeValueParams, state?: ExtremeValueState) {
    this.params = Object.isFrozen(params) ? params : Object.freeze({ ...params });
    const layout = layoutOf(this.params);
    const buffer = new ArrayBuffer(layout.size * 8 + layout.size32 * 4);
    const store = (this.store = new Float64Array(buffer, 0, layout.size));
    const store32 = new Float32Array(buffer, layout.size * 8, layout.size32);
    const k = params.tail_size;
    const tail = (at: number, part?: PotState): PeaksOverThreshold =>
      new PeaksOverThreshold(k, part, 0, store, at);
    // Tails of deviations, distances and run lengths keep their heaps in float32; tails of raw
    // values (upper, lower) in float64, since a value's own digits matter there.
    const tail32 = (i: number, part?: PotState, minScale = 0): PeaksOverThreshold =>
      new PeaksOverThreshold32(
        k,
        part,
        minScale,
        store,
        i * SCALARS,
        store32,
        layout.heaps32 + i * k,
      );
    this.residualTail = tail32(0, state?.residualTail);
    this.upperTail = tail(layout.tails, state?.upperTail);
    this.lowerTail = tail(layout.tails + layout.tail, state?.lowerTail);
    this.runTail = tail32(1, state?.runTail, 1);
    this.season =
      params.season_ms > 0
        ? new LevelSeasonModel(
            params.season_ms,
            params.season_alpha,
            params.level_alpha,
            params.season_max_slots,
            state?.season,
          )
        : undefined;
    this.slowSeason =
      params.season_ms > 0 && params.slow_level_alpha > 0
        ? new LevelSeasonModel(
            params.season_ms,
            params.season_alpha,
            params.slow_level_alpha,
            params.season_max_slots,
            state?.slowSeason,
          )
        : undefined;
    this.disagreementTail = tail32(2, state?.disagreementTail);
    this.envelope =
      params.season_ms > 0 && params.envelope_days > 0
        ? new SeasonalEnvelope(
            params.season_ms,
            params.envelope_days,
            params.envelope_buckets,
            params.envelope_width,
            state?.envelope ?? undefined,
          )
        : undefined;
    this.nominal = Math.pow(10, -params.calibration_log10_p);
    this.shapeTail = tail32(3, state?.shapeTail);
    const w = params.shape_length;
    const part = (at: number, length: number): Float64Array => store.subarray(at, at + length);
    this.shapeRecent = part(layout.shapeRecent, w);
    this.shingle = scratchShingle(w);
    this.shapeMemory = store32.subarray(layout.shapeMemory, layout.shapeDelay);
    this.shapeDelayRows = layout.shapeDelayRows;
    this.shapeDelay = store32.subarray(layout.shapeDelay, layout.cusumHeap);
    this.recent = part(layout.recent, params.cooldown_points);
    this.exceedances = part(layout.exceedances, CALIBRATED);
    this.pendingRaw = part(layout.pendingRaw, CALIBRATED);
    this.cusum =
      this.slowSeason && params.cusum_k > 0
        ? new ResidualCusum(
            cusumParamsOf(this.params),
            store,
            layout.cusum,
            store32,
            layout.cusumHeap,
            state?.cusum,
          )
        : undefined;
    if (state) {
      this.count = state.count;
      this.low = state.low ?? Number.POSITIVE_INFINITY;
      this.high = state.high ?? Number.NEGATIVE_INFINITY;
      this.recent.set(state.recent.slice(0, params.cooldown_points));
      this.recentHead = state.recentHead % Math.max(1, params.cooldown_points);
      this.last = state.last ?? Number.NaN;
      this.run = state.run;
      this.longestRun = state.longestRun;
      this.step = state.step ?? Number.POSITIVE_INFINITY;
      this.exceedances.set(state.exceedances.slice(0, CALIBRATED));
      this.scored = state.scored;
      this.shapeRecent.set(state.shapeRecent.slice(0, w));
      this.shapeHead = state.shapeHead % w;
      this.shapeCount = state.shapeCount;
      this.shapeMemory.set(state.shapeMemory.slice(0, this.shapeMemory.length));
      this.shapeMemoryCount = Math.min(state.shapeMemoryCount, params.shape_memory);
      this.shapeMemoryInserts = state.shapeMemoryInserts;
      this.shapeDelay.set(state.shapeDelay.slice(0, this.shapeDelay.length));
      this.shapeDelayInserts = state.shapeDelayInserts;
      this.shapeScale = state.shapeScale;
      this.shapeScaleCount = state.shapeScaleCount;
    }
  }

  score(timeMs: number, value: number): number {
    if (value - value !== 0) return 0;
    const shape = this.shapeDistance(value);
    const evidence = this.evidence(timeMs, value, shape);
    this.pendingTime = timeMs;
    this.pendingValue = value;
    this.pendingEvidence = evidence;
    this.pendingShape = shape;
    this.pendingRaw.set(this.raw);
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) if (!(evidence > recent[i]!)) return 0;
    return evidence;
  }

  /** The last scored point's evidence before the cool-down (see `Detector.lastEvidence`). */
  lastEvidence(): number {
    return this.pendingEvidence;
  }

  learn(timeMs: number, value: number): void {
    if (value - value !== 0) return;
    let evidence: number;
    let shape: number;
    let raw: Float64Array;
    if (timeMs === this.pendingTime && value === this.pendingValue) {
      evidence = this.pendingEvidence;
      shape = this.pendingShape;
      raw = this.pendingRaw;
      // `explain` may have used the shingle scratch since `score`: refill it for the memory.
      this.fillShingle(value);
    } else {
      shape = this.shapeDistance(value);
      evidence = this.evidence(timeMs, value, shape);
      raw = this.raw;
    }
    this.pendingTime = Number.NaN;
    if (this.recent.length > 0) {
      this.recent[this.recentHead] = evidence;
      this.recentHead = (this.recentHead + 1) % this.recent.length;
    }
    if (this.params.calibration && this.count >= this.params.warmup) {
      this.scored++;
      const s0 = this.params.calibration_log10_p;
      for (let i = 0; i < CALIBRATED; i++) if (raw[i]! >= s0) this.exceedances[i]!++;
    }
    // Only real residuals enter the tail: a slot not seen yet says nothing about the season.
    const residual = this.residual(timeMs, value);
    if (residual === residual) this.residualTail.add(residual);
    const disagreement = this.disagreement(timeMs);
    if (disagreement === disagreement) this.disagreementTail.add(disagreement);
    this.cusum?.learn(this.slowResidual(timeMs, value), this.count >= this.params.warmup);
    this.slowSeason?.learn(timeMs, value);
    this.upperTail.add(value);
    this.lowerTail.add(-value);
    this.season?.learn(timeMs, value);
    this.envelope?.add(timeMs, value);
    this.learnShape(value, shape);
    if (value < this.low) this.low = value;
    if (value > this.high) this.high = value;
    const change = Math.abs(value - this.last);
    if (change > 0 && change < this.step) this.step = change;
    if (value === this.last) {
      this.run++;
    } else {
      if (this.run > this.longestRun) this.longestRun = this.run;
      this.run = 0;
    }
    this.runTail.add(this.run);
    this.last = value;
    this.count++;
  }

  update(timeMs: number, value: number): number {
    const s = this.score(timeMs, value);
    this.learn(timeMs, value);
    return s;
  }

  /** True when the current shingle can be formed and compared (memory on, scale known). */
  private shapeReady(): boolean {
    return (
      this.params.shape_memory > 0 &&
      this.shapeCount + 1 >= this.params.shape_length &&
      this.shapeScale > 0
    );
  }

  /** The shingle ending at `value` into the scratch: mean removed, in units of the usual step. */
  private fillShingle(value: number): void {
    const w = this.params.shape_length;
    const ring = this.shapeRecent;
    const head = this.shapeHead;
    let mean = 0;
    for (let k = 0; k < w; k++) mean += k === head ? value : ring[k]!;
    mean /= w;
    const cur = this.shingle;
    for (let k = 0; k < w - 1; k++) cur[k] = (ring[(head + 1 + k) % w]! - mean) / this.shapeScale;
    cur[w - 1] = (value - mean) / this.shapeScale;
  }

  /** Distance of the shingle ending at `value` to its nearest remembered one; NaN if none. */
  private shapeDistance(value: number): number {
    if (!this.shapeReady()) return Number.NaN;
    this.fillShingle(value);
    const n = this.shapeMemoryCount;
    if (n === 0) return Number.NaN;
    const w = this.params.shape_length;
    const cur = this.shingle;
    const mem = this.shapeMemory;
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < n; r++) {
      const o = r * w;
      let d = 0;
      for (let k = 0; k < w; k++) {
        const e = cur[k]! - mem[o + k]!;
        d += e * e;
        if (d >= best) break;
      }
      if (d < best) best = d;
    }
    return Math.sqrt(best);
  }

  /** Learns the shape state for `value`, whose distance was `shape` (the shingle is in scratch). */
  private learnShape(value: number, shape: number): void {
    const p = this.params;
    const ready = this.shapeReady();
    if (shape === shape) this.shapeTail.add(shape);
    if (this.last === this.last) {
      this.shapeScaleCount++;
      this.shapeScale +=
        (Math.abs(value - this.last) - this.shapeScale) /
        Math.min(this.shapeScaleCount, 1 / p.shape_scale_alpha);
    }
    const w = p.shape_length;
    this.shapeRecent[this.shapeHead] = value;
    this.shapeHead = (this.shapeHead + 1) % w;
    this.shapeCount++;
    if (ready && this.shapeCount % p.shape_stride === 0) {
      // Through a delay line of shape_lag points into the FIFO memory.
      const rows = this.shapeDelayRows;
      const slot = (this.shapeDelayInserts % rows) * w;
      if (this.shapeDelayInserts >= rows) {
        const r =
          this.shapeMemoryCount < p.shape_memory
            ? this.shapeMemoryCount++
            : this.shapeMemoryInserts % p.shape_memory;
        this.shapeMemoryInserts++;
        for (let k = 0; k < w; k++) this.shapeMemory[r * w + k] = this.shapeDelay[slot + k]!;
      }
      this.shapeDelay.set(this.shingle, slot); // rounded to float32
      this.shapeDelayInserts++;
    }
  }

  /** The combined evidence for a point in [0, 1), before the cool-down. */
  private evidence(timeMs: number, value: number, shape: number): number {
    if (this.count < this.params.warmup) return 0;
    const pieces = this.pieces(timeMs, value, shape);
    let log10p = pieces[RESIDUAL]!;
    for (let i = 1; i < RECORD; i++) if (pieces[i]! > log10p) log10p = pieces[i]!;
    const tail = this.tailScore(log10p);
    return tail > pieces[RECORD]! ? tail : pieces[RECORD]!;
  }

  /** log10 of how much more often piece i reached calibration_log10_p than it should (≥ 0). */
  private correction(i: number): number {
    if (!this.params.calibration) return 0;
    const prior = this.params.calibration_prior;
    const expected = (this.scored + 1) * this.nominal;
    const c = Math.log10((this.exceedances[i]! + prior) / (expected + prior));
    return c > 0 ? c : 0;
  }

  /**
   * Every piece of evidence for a point, into the scratch array: -log10 p for the tail pieces,
   * the score for the record (the calibrated pieces before calibration into `raw`). Read-only;
   * shared by `evidence` and `explain` so they agree.
   */
  private pieces(timeMs: number, value: number, shape: number): Float64Array {
    const out = this.scratch;
    const { tail_min_count: minCount } = this.params;
    const floor = this.step < Number.POSITIVE_INFINITY ? this.step : 0;
    const residual = this.residual(timeMs, value);
    out[RESIDUAL] =
      residual === residual ? this.residualTail.surprise(residual, floor, minCount) : 0;
    out[UPPER] = this.upperTail.surprise(value, floor, minCount);
    out[LOWER] = this.lowerTail.surprise(-value, floor, minCount);
    out[STUCK] =
      value === this.last && this.run + 1 > this.params.stuck_factor * this.longestRun
        ? this.runTail.surprise(this.run + 1)
        : 0;
    // No resolution floor here: the disagreement of two smoothed forecasts is finer than a step.
    const disagreement = this.disagreement(timeMs);
    out[DISAGREEMENT] =
      disagreement === disagreement ? this.disagreementTail.surprise(disagreement, 0, minCount) : 0;
    const raw = this.raw;
    for (let i = 0; i < CALIBRATED; i++) {
      const r = out[i]!;
      raw[i] = r;
      const c = this.correction(i);
      if (c > 0) out[i] = r > c ? r - c : 0;
    }
    const env = this.envelope;
    if (env) {
      env.read(timeMs);
      if (value <= env.high) out[UPPER] = 0;
      if (value >= env.low) out[LOWER] = 0;
      if (value <= env.high && value >= env.low) out[RESIDUAL] = 0;
    }
    out[SHAPE] = shape === shape ? this.shapeTail.surprise(shape, 0, minCount) : 0;
    // Gated by the envelope like the residual: a value seen at this hour lately is no shift.
    const inEnvelope = env !== undefined && value <= env.high && value >= env.low;
    out[LEVEL_SHIFT] =
      this.cusum && !inEnvelope ? this.cusum.surprise(this.slowResidual(timeMs, value)) : 0;
    const range = this.high - this.low || Math.abs(this.high) || 1;
    const beyond = Math.max(value - this.high, this.low - value, 0) / range;
    out[RECORD] =
      beyond > 0 && this.count >= this.params.record_warmup
        ? ratioScore(beyond, this.params.record_boundary)
        : 0;
    return out;
  }

  /** -log10 p onto [0, 1): p = 10^-alert_log10_p lands at 0.5. */
  private tailScore(log10p: number): number {
    return 1 - Math.pow(2, -log10p / this.params.alert_log10_p);
  }

  /** |fast forecast - slow forecast| at this time; NaN until both know the slot. */
  private disagreement(timeMs: number): number {
    return this.season && this.slowSeason
      ? Math.abs(this.season.expected(timeMs) - this.slowSeason.expected(timeMs))
      : Number.NaN;
  }

  /** Signed residual of the slow forecaster (the CUSUM's input); NaN while unknown. */
  private slowResidual(timeMs: number, value: number): number {
    return this.slowSeason ? value - this.slowSeason.expected(timeMs) : Number.NaN;
  }

  /** |x - expected| under the level + season model; NaN while the slot is unknown. */
  private residual(timeMs: number, value: number): number {
    return this.season ? Math.abs(value - this.season.expected(timeMs)) : Number.NaN;
  }

  /**
   * The pieces of `evidence` for a point, each mapped like the combined evidence, so the
   * strongest equals what `score` gives before the cool-down. Expected: level + the slot's
   * offset. Band: the values for which no value-based piece (residual, tails, record) reaches 0.5
   * (calibration and the seasonal envelope included).
   * Read-only, like `score`; not on the hot path (events explain their peaks only).
   */
  explain(timeMs: number, value: number): Explanation {
    if (value - value !== 0) return { expected: null, band: null, evidence: [] };
    const seasonal = this.season ? this.season.expected(timeMs) : Number.NaN;
    const expected = seasonal === seasonal ? seasonal : null;
    if (this.count < this.params.warmup) return { expected, band: null, evidence: [] };
    const pieces = this.pieces(timeMs, value, this.shapeDistance(value));
    const evidence: EvidenceItem[] = PIECE_NAMES.map((name, i) => ({
      name,
      score: i === RECORD ? pieces[i]! : this.tailScore(pieces[i]!),
    }))
      .filter((p) => p.score > 0)
      .sort((a, b) => b.score - a.score);

    const boundary = this.params.alert_log10_p;
    const floor = this.step < Number.POSITIVE_INFINITY ? this.step : 0;
    // The envelope (as `pieces` read it for this time): values inside it drop the value pieces.
    const envHigh = this.envelope ? this.envelope.high : Number.NEGATIVE_INFINITY;
    const envLow = this.envelope ? this.envelope.low : Number.POSITIVE_INFINITY;
    let lower = Number.NEGATIVE_INFINITY;
    let upper = Number.POSITIVE_INFINITY;
    const upperEdge = this.upperTail.edge(boundary + this.correction(UPPER), floor);
    if (upperEdge !== null) upper = Math.min(upper, Math.max(upperEdge, envHigh));
    const lowerEdge = this.lowerTail.edge(boundary + this.correction(LOWER), floor);
    if (lowerEdge !== null) lower = Math.max(lower, Math.min(-lowerEdge, envLow));
    const residualEdge = this.residualTail.edge(boundary + this.correction(RESIDUAL), floor);
    if (expected !== null && residualEdge !== null) {
      let from = expected - residualEdge;
      let to = expected + residualEdge;
      // Quiet where either the residual is small or the value is inside the envelope: one
      // interval when the two overlap (the usual case), else the residual's own.
      if (envLow <= envHigh && envLow <= to && envHigh >= from) {
        from = Math.min(from, envLow);
        to = Math.max(to, envHigh);
      }
      lower = Math.max(lower, from);
      upper = Math.min(upper, to);
    }
    if (this.count >= this.params.record_warmup) {
      const range = this.high - this.low || Math.abs(this.high) || 1;
      lower = Math.max(lower, this.low - this.params.record_boundary * range);
      upper = Math.min(upper, this.high + this.params.record_boundary * range);
    }
    // No tail fitted and no records yet: the range seen so far is the best band there is.
    if (
      lower === Number.NEGATIVE_INFINITY &&
      upper === Number.POSITIVE_INFINITY &&
      this.count > 0
    ) {
      lower = this.low;
      upper = this.high;
    }
    const band: [number, number] | null =
      lower <= upper && Number.isFinite(lower) && Number.isFinite(upper) ? [lower, upper] : null;
    return { expected, band, evidence };
  }

  snapshot(): DetectorSnapshot {
    const state: ExtremeValueState = {
      count: this.count,
      low: Number.isFinite(this.low) ? this.low : null,
      high: Number.isFinite(this.high) ? this.high : null,
      residualTail: this.residualTail.state(),
      upperTail: this.upperTail.state(),
      lowerTail: this.lowerTail.state(),
      runTail: this.runTail.state(),
      season: this.season?.state() ?? EMPTY_SEASON,
      slowSeason: this.slowSeason?.state() ?? EMPTY_SEASON,
      disagreementTail: this.disagreementTail.state(),
      recent: Array.from(this.recent),
      recentHead: this.recentHead,
      last: Number.isNaN(this.last) ? null : this.last,
      run: this.run,
      longestRun: this.longestRun,
      step: Number.isFinite(this.step) ? this.step : null,
      envelope: this.envelope?.state() ?? null,
      exceedances: Array.from(this.exceedances),
      scored: this.scored,
      shapeTail: this.shapeTail.state(),
      shapeRecent: Array.from(this.shapeRecent),
      shapeHead: this.shapeHead,
      shapeCount: this.shapeCount,
      shapeMemory: Array.from(this.shapeMemory),
      shapeMemoryCount: this.shapeMemoryCount,
      shapeMemoryInserts: this.shapeMemoryInserts,
      shapeDelay: Array.from(this.shapeDelay),
      shapeDelayInserts: this.shapeDelayInserts,
      shapeScale: this.shapeScale,
      shapeScaleCount: this.shapeScaleCount,
      ...(this.cusum ? { cusum: this.cusum.state() } : {}),
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }
}

export const extremeValueFactory: DetectorFactory<ExtremeValueParams> = {
  kind: EXTREME_VALUE_KIND,
  description:
    'Tail probabilities of the value and its daily-seasonal residual plus range records, one alert per incident',
  paramsSchema: extremeValueParamsSchema,
  create: (params) => new ExtremeValueDetector(params),
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(
      withoutNewParts(snapshot),
      EXTREME_VALUE_KIND,
      extremeValueParamsSchema,
      stateSchema,
    );
    return new ExtremeValueDetector(sharedParams(EXTREME_VALUE_KIND, params), state);
  },
};

/**
 * A snapshot made before the level-shift CUSUM existed has no `cusum_k` in its params: it keeps
 * the behaviour it was made with (CUSUM off) rather than the new default.
 */
function withoutNewParts(snapshot: DetectorSnapshot): DetectorSnapshot {
  const params = snapshot.params;
  if (params === null || typeof params !== 'object' || 'cusum_k' in params) return snapshot;
  return { ...snapshot, params: { ...params, cusum_k: 0 } };
}
