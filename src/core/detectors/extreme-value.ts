import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import type { EvidenceItem, ExplainingDetector, Explanation } from './explanation.js';
import { PeaksOverThreshold, PeaksOverThreshold32 } from '../stats/peaks-over-threshold.js';
import { float32Up } from '../stats/float32.js';
import {
  SEASON_SCALARS,
  seasonExpected,
  seasonInit,
  seasonLaidOut,
  seasonLearn,
  seasonLoadOffsets,
  seasonSameLayout,
  seasonSlots,
  seasonSlotsNeeded,
  seasonState,
} from '../stats/level-season.js';
import {
  envelopeAdd,
  envelopeBounds,
  envelopeInit,
  envelopeRead,
  envelopeCodeSlots,
  envelopeDaySlots,
  envelopeState,
  ENVELOPE_SCALARS,
  type EnvelopeAt,
  type EnvelopeShape,
} from '../stats/seasonal-envelope.js';
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
  /** Absent in snapshots from when offsets were float32 (see `seasonLoadOffsets`). */
  step: finiteNumber.optional(),
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
      /** Whole steps from `reference` when `step` is given; else (older snapshots) the bounds. */
      highs: z.array(finiteNumber.nullable()),
      lows: z.array(finiteNumber.nullable()),
      reference: finiteNumber.optional(),
      step: finiteNumber.optional(),
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
  /**
   * The value tails' reference (see VALUE_REFERENCE); absent in snapshots from when they held the
   * values themselves, and before the first point.
   */
  valueReference: finiteNumber.optional(),
  /** Absent in snapshots from before the CUSUM: it then starts afresh. */
  cusum: cusumStateSchema.optional(),
});

type ExtremeValueState = z.infer<typeof stateSchema>;
type PotState = z.infer<typeof potState>;

/** Float64 scalars of a tail whose heap is in the float32 region. */
const SCALARS = PeaksOverThreshold.SCALARS;
const POT32 = PeaksOverThreshold32;

/** Float64 scalars of a detector, at the start of its store. */
const LOW = 0;
const HIGH = 1;
/** The last value learnt. */
const LAST = 2;
/** Smallest positive change between consecutive values: the data's resolution. */
const STEP = 3;
/** Evidence computed by `score`, reused by `learn` for the same point. */
const PENDING_TIME = 4;
const PENDING_VALUE = 5;
const PENDING_EVIDENCE = 6;
const PENDING_SHAPE = 7;
/** Running mean |x_t - x_{t-1}|: the unit of a shingle. */
const SHAPE_SCALE = 8;
/**
 * The value tails hold value - VALUE_REFERENCE (upper) and VALUE_REFERENCE - value (lower), in
 * float32 rounded up: their precision is relative to how far values stray from the first one, not
 * to the series' magnitude, and a value equal to one in the tail is still not above it.
 */
const VALUE_REFERENCE = 9;
/** The scalars of the two level + season models (fast level, slow level). */
const SEASON = 10;
const SLOW_SEASON = SEASON + SEASON_SCALARS;
/** The seasonal envelope's reference and step. */
const ENVELOPE = SLOW_SEASON + SEASON_SCALARS;
const SCALAR_SLOTS = ENVELOPE + ENVELOPE_SCALARS;
/** The float32-heap tails, in this order (their scalars from TAILS32, heaps from 0 in store32). */
const RESIDUAL_TAIL = 0;
/** Lengths of runs of identical values (scale floor: one point). */
const RUN_TAIL = 1;
const DISAGREEMENT_TAIL = 2;
const SHAPE_TAIL = 3;
/** Tails of values (upper) and of negated values (lower), relative to VALUE_REFERENCE. */
const UPPER_TAIL = 4;
const LOWER_TAIL = 5;
const TAILS = 6;
const TAILS32 = SCALAR_SLOTS;
/** Where the scalars of each float32-heap tail start in the store. */
const TAIL_RESIDUAL = TAILS32 + RESIDUAL_TAIL * SCALARS;
const TAIL_RUN = TAILS32 + RUN_TAIL * SCALARS;
const TAIL_DISAGREEMENT = TAILS32 + DISAGREEMENT_TAIL * SCALARS;
const TAIL_SHAPE = TAILS32 + SHAPE_TAIL * SCALARS;
const TAIL_UPPER = TAILS32 + UPPER_TAIL * SCALARS;
const TAIL_LOWER = TAILS32 + LOWER_TAIL * SCALARS;

/**
 * Offsets of the parts of a detector's store; one layout per params object, shared. The store is
 * one ArrayBuffer per series: a float64 region (scalars, the scalars of the six tails, the shape
 * ring, the calibration counts, the pending raw pieces, the level-shift CUSUM's scalars), a
 * float32 region (the six tail heaps, the envelope's row days, the CUSUM's tail heap, the
 * cool-down ring), then a 16-bit region (the shape memory and its delay line, the envelope's
 * bounds, then — once the sampling interval is known — the slot offsets of the two seasonal
 * models: the store is allocated again then, with room for them).
 */
interface StoreLayout {
  readonly recent: number;
  readonly shapeRecent: number;
  readonly exceedances: number;
  readonly pendingRaw: number;
  /** The CUSUM's float64 scalars, and its tail's heap in the float32 region. */
  readonly cusumAt: number;
  readonly size: number;
  /** The shape memory and its delay line, in the 16-bit region (see SHAPE_STEP). */
  readonly shapeMemory: number;
  readonly shapeDelayRows: number;
  readonly shapeDelay: number;
  /** The 16-bit slots before the seasonal offsets. */
  readonly size16: number;
  /** The envelope's day rows (float32 region) and bounds (16-bit region). */
  readonly envelope: number;
  readonly envelopeCodes: number;
  readonly cusumHeap: number;
  /** The float32 slots before the seasonal offsets. */
  readonly size32: number;
  /** The seasonal models in use (the fast one; the slow one too), and the envelope's shape. */
  readonly season: boolean;
  readonly slowSeason: boolean;
  readonly envelopeShape: EnvelopeShape | null;
  /** The level-shift CUSUM's params; null when it is off (cusum_k 0 or no slow forecaster). */
  readonly cusum: CusumParams | null;
  /** 10^-calibration_log10_p: how often a calibrated piece should reach it. */
  readonly nominal: number;
  /** Scratch: the current shingle, and it in shape codes (shared by every detector: see SCRATCH). */
  readonly shingle: Float64Array;
  readonly shingleCodes: Float64Array;
}

const layoutByParams = new WeakMap<Readonly<ExtremeValueParams>, StoreLayout>();

function hasEnvelope(params: Readonly<ExtremeValueParams>): boolean {
  return params.season_ms > 0 && params.envelope_days > 0;
}

function layoutOf(params: Readonly<ExtremeValueParams>): StoreLayout {
  let layout = layoutByParams.get(params);
  if (layout === undefined) {
    const w = params.shape_length;
    const k = params.tail_size;
    const shapeDelayRows = Math.max(1, Math.floor(params.shape_lag / params.shape_stride));
    const shapeRecent = TAILS32 + TAILS * SCALARS;
    const exceedances = shapeRecent + w;
    const pendingRaw = exceedances + CALIBRATED;
    const shapeMemory = 0;
    const shapeDelay = shapeMemory + params.shape_memory * w;
    const envelope = TAILS * k;
    const envelopeCodes = shapeDelay + shapeDelayRows * w;
    const cusumAt = pendingRaw + CALIBRATED;
    const cusumHeap = hasEnvelope(params)
      ? envelope + envelopeDaySlots(params.envelope_days)
      : envelope;
    const cusum = cusumParamsOf(params);
    layout = {
      shapeRecent,
      exceedances,
      pendingRaw,
      cusumAt,
      size: cusumAt + (cusum ? ResidualCusum.SCALARS : 0),
      shapeMemory,
      shapeDelayRows,
      shapeDelay,
      envelopeCodes,
      size16: hasEnvelope(params)
        ? envelopeCodes + envelopeCodeSlots(params.envelope_days, params.envelope_buckets)
        : envelopeCodes,
      envelope,
      cusumHeap,
      recent: cusumHeap + (cusum ? cusum.tailSize : 0),
      size32: cusumHeap + (cusum ? cusum.tailSize : 0) + params.cooldown_points,
      season: params.season_ms > 0,
      slowSeason: params.season_ms > 0 && params.slow_level_alpha > 0,
      envelopeShape: hasEnvelope(params)
        ? {
            periodMs: params.season_ms,
            days: params.envelope_days,
            buckets: params.envelope_buckets,
            width: params.envelope_width,
          }
        : null,
      cusum,
      nominal: Math.pow(10, -params.calibration_log10_p),
      shingle: scratchShingle(w),
      shingleCodes: new Float64Array(w),
    };
    layoutByParams.set(params, layout);
  }
  return layout;
}

/** The CUSUM's params (null when it is off); one object per params object, in its layout. */
function cusumParamsOf(params: Readonly<ExtremeValueParams>): CusumParams | null {
  if (!(params.cusum_k > 0 && params.season_ms > 0 && params.slow_level_alpha > 0)) return null;
  return Object.freeze({
    k: params.cusum_k,
    clip: params.cusum_clip,
    scaleAlpha: params.cusum_scale_alpha,
    resetLog10p: params.alert_log10_p,
    calibrationLog10p: params.calibration ? params.calibration_log10_p : 0,
    calibrationPrior: params.calibration_prior,
    tailSize: params.cusum_tail_size,
    tailMinCount: params.tail_min_count,
  });
}

/**
 * Scratch arrays shared by every detector: each is filled and read within one synchronous call
 * (`score`, `learn`, `explain`), never across calls, so per-series copies would only cost memory.
 */
const SCRATCH = {
  pieces: new Float64Array(8), // PIECE_NAMES.length (declared below)
  raw: new Float64Array(5), // CALIBRATED
  forecasts: new Float64Array(2), // fast, slow
  shingles: new Map<number, Float64Array>(),
  envelope: {
    scalars: new Float64Array(0),
    s: 0,
    days: new Float32Array(0),
    d: 0,
    codes: new Uint16Array(0),
    c: 0,
  } as EnvelopeAt,
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

/**
 * The shape memory and its delay line hold shingle values (in units of the usual step) as 16-bit
 * fixed point: code n + SHAPE_ZERO for n × SHAPE_STEP, so ±128 steps at a resolution of 1/256,
 * clamped beyond. Nearest-neighbour distances then need no decoding (a float16 memory, decoded
 * through a table, made `default` 20 % slower); a shingle beyond ±128 typical steps is far from
 * every usual one either way.
 */
const SHAPE_STEP = 2 ** -8;
const SHAPE_ZERO = 32768;

/**
 * The smallest squared distance from the 4-value shingle `at` (in codes) to the `n` rows of
 * `mem` from `m0`: the general loop of `shapeDistance` unrolled for the default shape_length,
 * with the same sums and the same early exits (the same result, bit for bit).
 */
function nearest4(at: Float64Array, mem: Uint16Array, m0: number, n: number): number {
  const a0 = at[0]!;
  const a1 = at[1]!;
  const a2 = at[2]!;
  const a3 = at[3]!;
  let best = Number.POSITIVE_INFINITY;
  for (let o = m0; o < m0 + 4 * n; o += 4) {
    let e = a0 - mem[o]!;
    let d = e * e;
    if (d >= best) continue;
    e = a1 - mem[o + 1]!;
    d += e * e;
    if (d >= best) continue;
    e = a2 - mem[o + 2]!;
    d += e * e;
    if (d >= best) continue;
    e = a3 - mem[o + 3]!;
    d += e * e;
    if (d < best) best = d;
  }
  return best;
}

function shapeCode(x: number): number {
  const n = Math.round(x / SHAPE_STEP);
  return (n > 32767 ? 32767 : n < -32767 ? -32767 : n) + SHAPE_ZERO;
}

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
 *
 * Memory: every fixed-size part lives in one ArrayBuffer per series (`store`, `store32`), read by
 * offset (`StoreLayout`); the tails are functions on it, not objects; only whole-number counters
 * stay fields (small integers cost no allocation). docs/detectors.md, "Memory per series".
 */
export class ExtremeValueDetector implements Detector, ExplainingDetector {
  readonly params: Readonly<ExtremeValueParams>;
  private readonly layout: StoreLayout;
  /** The float64 region of the series' store (scalars from 0; see StoreLayout). */
  private store: Float64Array;
  /** The float32 region of the same buffer. */
  private store32: Float32Array;
  /** The 16-bit region of the same buffer. */
  private store16: Uint16Array;
  private count = 0;
  /** Scored points (the calibration counts, in the store, are per calibrated piece). */
  private scored = 0;
  /** Next slot of the cool-down ring of the evidence of the last `cooldown_points` points. */
  private recentHead = 0;
  /** Repeats of the last value so far, and the longest run of repeats that has ended. */
  private run = 0;
  private longestRun = 0;
  /** Next slot of the ring of the last `shape_length` values learnt. */
  private shapeHead = 0;
  private shapeCount = 0;
  /**
   * Remembered shingles (a FIFO of `shape_memory` rows) and the delay line feeding it, in 16-bit
   * fixed point (SHAPE_STEP): nearest-neighbour distances between shingles in units of the usual
   * step need no more (NAB scores unchanged; docs/detectors.md, "Memory per series").
   */
  private shapeMemoryCount = 0;
  private shapeMemoryInserts = 0;
  private shapeDelayInserts = 0;
  private shapeScaleCount = 0;

  /** `params` is kept by reference when frozen, so that series can share one object. */
  constructor(params: ExtremeValueParams, state?: ExtremeValueState) {
    this.params = Object.isFrozen(params) ? params : Object.freeze({ ...params });
    const layout = (this.layout = layoutOf(this.params));
    const seasonSlotsOf = (on: boolean, part?: ExtremeValueState['season']): number =>
      on && part?.offsets ? part.offsets.length : 0;
    const fastSlots = seasonSlotsOf(layout.season, state?.season);
    const slowSlots = seasonSlotsOf(layout.slowSeason, state?.slowSeason);
    const size16 = layout.size16 + fastSlots + slowSlots;
    const buffer = new ArrayBuffer(layout.size * 8 + layout.size32 * 4 + size16 * 2);
    const store = (this.store = new Float64Array(buffer, 0, layout.size));
    const store32 = (this.store32 = new Float32Array(buffer, layout.size * 8, layout.size32));
    const store16 = (this.store16 = new Uint16Array(
      buffer,
      layout.size * 8 + layout.size32 * 4,
      size16,
    ));
    store[LOW] = Number.POSITIVE_INFINITY;
    store[HIGH] = Number.NEGATIVE_INFINITY;
    store[LAST] = Number.NaN;
    store[STEP] = Number.POSITIVE_INFINITY;
    store[PENDING_TIME] = Number.NaN;
    store[PENDING_VALUE] = Number.NaN;
    store[PENDING_SHAPE] = Number.NaN;
    store[VALUE_REFERENCE] = Number.NaN;
    const k = params.tail_size;
    seasonInit(store, SEASON, layout.season ? state?.season : undefined);
    seasonInit(store, SLOW_SEASON, layout.slowSeason ? state?.slowSeason : undefined);
    if (fastSlots > 0) seasonLoadOffsets(state!.season, store, SEASON, store16, layout.size16);
    if (slowSlots > 0) {
      seasonLoadOffsets(state!.slowSeason, store, SLOW_SEASON, store16, layout.size16 + fastSlots);
    }
    if (layout.envelopeShape) {
      const envelope = state?.envelope ?? undefined;
      envelopeInit(this.envelopeAt(), layout.envelopeShape, envelope);
    }
    if (state) {
      // Tails of deviations, distances and run lengths keep their heaps in float32; tails of raw
      // values (upper, lower) in float64, since a value's own digits matter there.
      const load32 = (i: number, part: PotState): void =>
        POT32.load(store, TAILS32 + i * SCALARS, store32, i * k, k, part);
      load32(RESIDUAL_TAIL, state.residualTail);
      load32(RUN_TAIL, state.runTail);
      load32(DISAGREEMENT_TAIL, state.disagreementTail);
      load32(SHAPE_TAIL, state.shapeTail);
      // Before the value reference, value tails held the values themselves (the lower: negated).
      const ref = state.valueReference ?? state.last ?? Number.NaN;
      store[VALUE_REFERENCE] = ref;
      const relative = (part: PotState, sign: 1 | -1): PotState =>
        state.valueReference === undefined ? moved(part, (v) => float32Up(v - sign * ref)) : part;
      load32(UPPER_TAIL, relative(state.upperTail, 1));
      load32(LOWER_TAIL, relative(state.lowerTail, -1));
      if (layout.cusum && state.cusum) {
        ResidualCusum.load(
          store,
          layout.cusumAt,
          store32,
          layout.cusumHeap,
          layout.cusum,
          state.cusum,
        );
      }
      const w = params.shape_length;
      const copy = (
        to: Float64Array | Float32Array,
        at: number,
        from: number[],
        n: number,
      ): void => {
        for (let i = 0; i < n && i < from.length; i++) to[at + i] = from[i]!;
      };
      const copy16 = (at: number, from: number[], n: number): void => {
        for (let i = 0; i < n && i < from.length; i++) store16[at + i] = shapeCode(from[i]!);
      };
      this.count = state.count;
      store[LOW] = state.low ?? Number.POSITIVE_INFINITY;
      store[HIGH] = state.high ?? Number.NEGATIVE_INFINITY;
      copy(store32, layout.recent, state.recent, params.cooldown_points);
      this.recentHead = state.recentHead % Math.max(1, params.cooldown_points);
      store[LAST] = state.last ?? Number.NaN;
      this.run = state.run;
      this.longestRun = state.longestRun;
      store[STEP] = state.step ?? Number.POSITIVE_INFINITY;
      copy(store, layout.exceedances, state.exceedances, CALIBRATED);
      this.scored = state.scored;
      copy(store, layout.shapeRecent, state.shapeRecent, w);
      this.shapeHead = state.shapeHead % w;
      this.shapeCount = state.shapeCount;
      copy16(layout.shapeMemory, state.shapeMemory, params.shape_memory * w);
      this.shapeMemoryCount = Math.min(state.shapeMemoryCount, params.shape_memory);
      this.shapeMemoryInserts = state.shapeMemoryInserts;
      copy16(layout.shapeDelay, state.shapeDelay, layout.shapeDelayRows * w);
      this.shapeDelayInserts = state.shapeDelayInserts;
      store[SHAPE_SCALE] = state.shapeScale;
      this.shapeScaleCount = state.shapeScaleCount;
    }
  }

  /** Where the envelope's parts are now (the shared SCRATCH.envelope, filled for one call). */
  private envelopeAt(): EnvelopeAt {
    const at = SCRATCH.envelope;
    at.scalars = this.store;
    at.s = ENVELOPE;
    at.days = this.store32;
    at.d = this.layout.envelope;
    at.codes = this.store16;
    at.c = this.layout.envelopeCodes;
    return at;
  }

  /** The kind, from the prototype (one field less per series). */
  get kind(): string {
    return EXTREME_VALUE_KIND;
  }

  private add32(i: number, f: number): void {
    const k = this.params.tail_size;
    POT32.addTo(this.store, TAILS32 + i * SCALARS, this.store32, i * k, k, f);
  }

  private edge32(i: number, log10p: number, scaleFloor: number): number | null {
    const k = this.params.tail_size;
    return POT32.edgeOf(
      this.store,
      TAILS32 + i * SCALARS,
      this.store32,
      i * k,
      k,
      0,
      log10p,
      scaleFloor,
    );
  }

  private state32(i: number): PotState {
    const k = this.params.tail_size;
    return POT32.stateOf(this.store, TAILS32 + i * SCALARS, this.store32, i * k);
  }

  score(timeMs: number, value: number): number {
    if (value - value !== 0) return 0;
    const shape = this.shapeDistance(value);
    const evidence = this.evidence(timeMs, value, shape);
    const store = this.store;
    store[PENDING_TIME] = timeMs;
    store[PENDING_VALUE] = value;
    store[PENDING_EVIDENCE] = evidence;
    store[PENDING_SHAPE] = shape;
    store.set(SCRATCH.raw, this.layout.pendingRaw);
    const from = this.layout.recent;
    const to = from + this.params.cooldown_points;
    const recent = this.store32;
    for (let i = from; i < to; i++) if (!(evidence > recent[i]!)) return 0;
    return evidence;
  }

  /** The last scored point's evidence before the cool-down (see `Detector.lastEvidence`). */
  lastEvidence(): number {
    return this.store[PENDING_EVIDENCE]!;
  }

  learn(timeMs: number, value: number): void {
    if (value - value !== 0) return;
    let evidence: number;
    let shape: number;
    let raw: Float64Array;
    let raw0: number;
    const store = this.store;
    const layout = this.layout;
    if (timeMs === store[PENDING_TIME] && value === store[PENDING_VALUE]) {
      evidence = store[PENDING_EVIDENCE]!;
      shape = store[PENDING_SHAPE]!;
      raw = store;
      raw0 = layout.pendingRaw;
      // `explain` may have used the shingle scratch since `score`: refill it for the memory.
      this.fillShingle(value);
    } else {
      shape = this.shapeDistance(value);
      evidence = this.evidence(timeMs, value, shape);
      raw = SCRATCH.raw;
      raw0 = 0;
    }
    store[PENDING_TIME] = Number.NaN;
    const cooldown = this.params.cooldown_points;
    if (cooldown > 0) {
      this.store32[layout.recent + this.recentHead] = evidence;
      this.recentHead = (this.recentHead + 1) % cooldown;
    }
    if (this.params.calibration && this.count >= this.params.warmup) {
      this.scored++;
      const s0 = this.params.calibration_log10_p;
      const e = layout.exceedances;
      for (let i = 0; i < CALIBRATED; i++) if (raw[raw0 + i]! >= s0) store[e + i]!++;
    }
    // Only real residuals enter the tail: a slot not seen yet says nothing about the season.
    this.forecast(timeMs);
    const residual = this.residual(value);
    if (residual === residual) this.add32(RESIDUAL_TAIL, residual);
    const disagreement = this.disagreement();
    if (disagreement === disagreement) this.add32(DISAGREEMENT_TAIL, disagreement);
    if (layout.cusum) {
      const scoring = this.count >= this.params.warmup;
      const { cusumAt, cusumHeap } = layout;
      const r = this.slowResidual(value);
      ResidualCusum.learnAt(store, cusumAt, this.store32, cusumHeap, layout.cusum, r, scoring);
    }
    if (layout.slowSeason)
      this.learnSeason(SLOW_SEASON, this.params.slow_level_alpha, timeMs, value);
    const ref = this.store[VALUE_REFERENCE]!;
    const reference = ref === ref ? ref : (this.store[VALUE_REFERENCE] = value);
    this.add32(UPPER_TAIL, float32Up(value - reference));
    this.add32(LOWER_TAIL, float32Up(reference - value));
    if (layout.season) this.learnSeason(SEASON, this.params.level_alpha, timeMs, value);
    if (layout.envelopeShape) {
      envelopeAdd(this.envelopeAt(), layout.envelopeShape, timeMs, value);
    }
    this.learnShape(value, shape);
    // Read again: laying out the seasonal slots (at the second point) allocates a new store.
    const scalars = this.store;
    if (value < scalars[LOW]!) scalars[LOW] = value;
    if (value > scalars[HIGH]!) scalars[HIGH] = value;
    const change = Math.abs(value - scalars[LAST]!);
    if (change > 0 && change < scalars[STEP]!) scalars[STEP] = change;
    if (value === scalars[LAST]) {
      this.run++;
    } else {
      if (this.run > this.longestRun) this.longestRun = this.run;
      this.run = 0;
    }
    this.add32(RUN_TAIL, this.run);
    scalars[LAST] = value;
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
      this.store[SHAPE_SCALE]! > 0
    );
  }

  /** The shingle ending at `value` into the scratch: mean removed, in units of the usual step. */
  private fillShingle(value: number): void {
    const w = this.params.shape_length;
    const ring = this.store;
    const r0 = this.layout.shapeRecent;
    const head = this.shapeHead;
    let mean = 0;
    for (let k = 0; k < w; k++) mean += k === head ? value : ring[r0 + k]!;
    mean /= w;
    const cur = this.layout.shingle;
    const scale = ring[SHAPE_SCALE]!;
    for (let k = 0; k < w - 1; k++) cur[k] = (ring[r0 + ((head + 1 + k) % w)]! - mean) / scale;
    cur[w - 1] = (value - mean) / scale;
  }

  /** Distance of the shingle ending at `value` to its nearest remembered one; NaN if none. */
  private shapeDistance(value: number): number {
    if (!this.shapeReady()) return Number.NaN;
    this.fillShingle(value);
    const n = this.shapeMemoryCount;
    if (n === 0) return Number.NaN;
    const w = this.params.shape_length;
    const cur = this.layout.shingle;
    const mem = this.store16;
    const m0 = this.layout.shapeMemory;
    // The current shingle on the memory's scale (codes): one subtraction per value, no decoding.
    const at = this.layout.shingleCodes;
    for (let k = 0; k < w; k++) at[k] = cur[k]! / SHAPE_STEP + SHAPE_ZERO;
    if (w === 4) return Math.sqrt(nearest4(at, mem, m0, n)) * SHAPE_STEP;
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < n; r++) {
      const o = m0 + r * w;
      let d = 0;
      for (let k = 0; k < w; k++) {
        const e = at[k]! - mem[o + k]!;
        d += e * e;
        if (d >= best) break;
      }
      if (d < best) best = d;
    }
    return Math.sqrt(best) * SHAPE_STEP;
  }

  /** Learns the shape state for `value`, whose distance was `shape` (the shingle is in scratch). */
  private learnShape(value: number, shape: number): void {
    const p = this.params;
    const ready = this.shapeReady();
    const store = this.store;
    const layout = this.layout;
    if (shape === shape) this.add32(SHAPE_TAIL, shape);
    const last = store[LAST]!;
    if (last === last) {
      this.shapeScaleCount++;
      const scale = store[SHAPE_SCALE]!;
      store[SHAPE_SCALE] =
        scale +
        (Math.abs(value - last) - scale) / Math.min(this.shapeScaleCount, 1 / p.shape_scale_alpha);
    }
    const w = p.shape_length;
    store[layout.shapeRecent + this.shapeHead] = value;
    this.shapeHead = (this.shapeHead + 1) % w;
    this.shapeCount++;
    if (ready && this.shapeCount % p.shape_stride === 0) {
      // Through a delay line of shape_lag points into the FIFO memory.
      const rows = layout.shapeDelayRows;
      const store16 = this.store16;
      const slot = layout.shapeDelay + (this.shapeDelayInserts % rows) * w;
      if (this.shapeDelayInserts >= rows) {
        const r =
          this.shapeMemoryCount < p.shape_memory
            ? this.shapeMemoryCount++
            : this.shapeMemoryInserts % p.shape_memory;
        this.shapeMemoryInserts++;
        const to = layout.shapeMemory + r * w;
        for (let k = 0; k < w; k++) store16[to + k] = store16[slot + k]!;
      }
      const shingle = layout.shingle;
      for (let k = 0; k < w; k++) store16[slot + k] = shapeCode(shingle[k]!);
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
    const expected = (this.scored + 1) * this.layout.nominal;
    const c = Math.log10((this.store[this.layout.exceedances + i]! + prior) / (expected + prior));
    return c > 0 ? c : 0;
  }

  /**
   * Every piece of evidence for a point, into the scratch array: -log10 p for the tail pieces,
   * the score for the record (the calibrated pieces before calibration into `raw`). Read-only;
   * shared by `evidence` and `explain` so they agree.
   */
  private pieces(timeMs: number, value: number, shape: number): Float64Array {
    const out = SCRATCH.pieces;
    const store = this.store;
    const { tail_min_count: minCount } = this.params;
    const step = store[STEP]!;
    const floor = step < Number.POSITIVE_INFINITY ? step : 0;
    this.forecast(timeMs);
    const residual = this.residual(value);
    const s32 = this.store32;
    const k = this.params.tail_size;
    out[RESIDUAL] =
      residual === residual
        ? POT32.surpriseOf(store, TAIL_RESIDUAL, s32, 0, k, 0, residual, floor, minCount)
        : 0;
    const ref = store[VALUE_REFERENCE]!;
    out[UPPER] = POT32.surpriseOf(
      store,
      TAIL_UPPER,
      s32,
      4 * k,
      k,
      0,
      value - ref,
      floor,
      minCount,
    );
    out[LOWER] = POT32.surpriseOf(
      store,
      TAIL_LOWER,
      s32,
      5 * k,
      k,
      0,
      ref - value,
      floor,
      minCount,
    );
    out[STUCK] =
      value === store[LAST] && this.run + 1 > this.params.stuck_factor * this.longestRun
        ? POT32.surpriseOf(store, TAIL_RUN, s32, k, k, 1, this.run + 1, 0, 0)
        : 0;
    // No resolution floor here: the disagreement of two smoothed forecasts is finer than a step.
    const disagreement = this.disagreement();
    out[DISAGREEMENT] =
      disagreement === disagreement
        ? POT32.surpriseOf(store, TAIL_DISAGREEMENT, s32, 2 * k, k, 0, disagreement, 0, minCount)
        : 0;
    const raw = SCRATCH.raw;
    for (let i = 0; i < CALIBRATED; i++) {
      const r = out[i]!;
      raw[i] = r;
      const c = this.correction(i);
      if (c > 0) out[i] = r > c ? r - c : 0;
    }
    const envelope = this.layout.envelopeShape;
    let inEnvelope = false;
    if (envelope) {
      envelopeRead(this.envelopeAt(), envelope, timeMs);
      const { high, low } = envelopeBounds;
      if (value <= high) out[UPPER] = 0;
      if (value >= low) out[LOWER] = 0;
      inEnvelope = value <= high && value >= low;
      if (inEnvelope) out[RESIDUAL] = 0;
    }
    out[SHAPE] =
      shape === shape
        ? POT32.surpriseOf(store, TAIL_SHAPE, s32, 3 * k, k, 0, shape, 0, minCount)
        : 0;
    // Gated by the envelope like the residual: a value seen at this hour lately is no shift.
    const cusum = this.layout.cusum;
    out[LEVEL_SHIFT] =
      cusum && !inEnvelope
        ? ResidualCusum.surpriseOf(
            store,
            this.layout.cusumAt,
            s32,
            this.layout.cusumHeap,
            cusum,
            this.slowResidual(value),
          )
        : 0;
    const high = store[HIGH]!;
    const low = store[LOW]!;
    const range = high - low || Math.abs(high) || 1;
    const beyond = Math.max(value - high, low - value, 0) / range;
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

  /**
   * The two seasonal models' forecasts at this time into SCRATCH.forecasts (NaN while unknown or
   * off), read by `residual`, `disagreement` and `slowResidual` in the same call.
   */
  private forecast(timeMs: number): void {
    const f = SCRATCH.forecasts;
    f[0] = this.layout.season ? this.expected(SEASON, timeMs) : Number.NaN;
    f[1] = this.layout.slowSeason ? this.expected(SLOW_SEASON, timeMs) : Number.NaN;
  }

  /** |fast forecast - slow forecast|; NaN until both know the slot. */
  private disagreement(): number {
    const f = SCRATCH.forecasts;
    return this.layout.slowSeason ? Math.abs(f[0]! - f[1]!) : Number.NaN;
  }

  /** Signed residual of the slow forecaster (the CUSUM's input); NaN while unknown. */
  private slowResidual(value: number): number {
    return this.layout.slowSeason ? value - SCRATCH.forecasts[1]! : Number.NaN;
  }

  /** |x - expected| under the level + season model; NaN while the slot is unknown. */
  private residual(value: number): number {
    return this.layout.season ? Math.abs(value - SCRATCH.forecasts[0]!) : Number.NaN;
  }

  /** The prediction of the seasonal model at `s` (SEASON, SLOW_SEASON); NaN while unknown. */
  private expected(s: number, timeMs: number): number {
    const at = this.seasonOffsets(s);
    return seasonExpected(this.store, s, this.store16, at, this.params.season_ms, timeMs);
  }

  /** Where the slot offsets of the seasonal model at `s` start in `store16`. */
  private seasonOffsets(s: number): number {
    const fast = this.layout.size16;
    return s === SEASON ? fast : fast + seasonSlots(this.store, SEASON);
  }

  /** Learns a point into the seasonal model at `s`, laying out its slots when their count is known. */
  private learnSeason(s: number, levelAlpha: number, timeMs: number, value: number): void {
    const p = this.params;
    if (seasonSlots(this.store, s) === 0) {
      const store = this.store;
      const slots = seasonSlotsNeeded(store, s, p.season_ms, p.season_max_slots, timeMs, value);
      if (slots === 0) return;
      // The other model learns this same point next (or learnt it just before): when it needs
      // the same layout now, both get their slots in one allocation.
      const other = s === SEASON ? SLOW_SEASON : SEASON;
      const both = this.layout.slowSeason && seasonSameLayout(store, other, s);
      const fast = s === SEASON || both ? slots : seasonSlots(store, SEASON);
      const slow = s === SLOW_SEASON || both ? slots : seasonSlots(store, SLOW_SEASON);
      this.layOutSeasons(fast, slow);
      seasonLaidOut(this.store, s, slots);
      if (both) seasonLaidOut(this.store, other, slots);
    }
    seasonLearn(
      this.store,
      s,
      this.store16,
      this.seasonOffsets(s),
      p.season_ms,
      p.season_alpha,
      levelAlpha,
      timeMs,
      value,
    );
  }

  /**
   * Allocates the store again with `fast` and `slow` seasonal offset slots (NaN where new), the
   * rest copied: once per series, at its second point, when the sampling interval gives the count.
   */
  private layOutSeasons(fast: number, slow: number): void {
    const { size, size32, size16 } = this.layout;
    const old = this.store;
    const old16 = this.store16;
    const oldFast = seasonSlots(old, SEASON);
    const oldSlow = seasonSlots(old, SLOW_SEASON);
    const buffer = new ArrayBuffer(size * 8 + size32 * 4 + (size16 + fast + slow) * 2);
    const store = new Float64Array(buffer, 0, size);
    const store32 = new Float32Array(buffer, size * 8, size32);
    const store16 = new Uint16Array(buffer, size * 8 + size32 * 4, size16 + fast + slow);
    store.set(old);
    store32.set(this.store32);
    // New offset slots are zero: unseen.
    store16.set(old16.subarray(0, size16));
    store16.set(old16.subarray(size16, size16 + oldFast), size16);
    store16.set(old16.subarray(size16 + oldFast, size16 + oldFast + oldSlow), size16 + fast);
    this.store = store;
    this.store32 = store32;
    this.store16 = store16;
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
    const seasonal = this.layout.season ? this.expected(SEASON, timeMs) : Number.NaN;
    const expected = seasonal === seasonal ? seasonal : null;
    if (this.count < this.params.warmup) return { expected, band: null, evidence: [] };
    const pieces = this.pieces(timeMs, value, this.shapeDistance(value));
    const evidence: EvidenceItem[] = PIECE_NAMES.map((name, i) => ({
      name,
      score: i === RECORD ? pieces[i]! : this.tailScore(pieces[i]!),
    }))
      .filter((p) => p.score > 0)
      .sort((a, b) => b.score - a.score);
    return { expected, band: this.bandAt(expected), evidence };
  }

  /** `explain(timeMs, value).band` without scoring the point's pieces (no shape search). */
  band(timeMs: number, value: number): [number, number] | null {
    if (value - value !== 0 || this.count < this.params.warmup) return null;
    const seasonal = this.layout.season ? this.expected(SEASON, timeMs) : Number.NaN;
    const envelope = this.layout.envelopeShape;
    if (envelope) envelopeRead(this.envelopeAt(), envelope, timeMs);
    return this.bandAt(seasonal === seasonal ? seasonal : null);
  }

  /**
   * The band for the time whose expected value is `expected` and whose envelope was read last
   * (into `envelopeBounds`, by `pieces` or `band`).
   */
  private bandAt(expected: number | null): [number, number] | null {
    const boundary = this.params.alert_log10_p;
    const store = this.store;
    const step = store[STEP]!;
    const floor = step < Number.POSITIVE_INFINITY ? step : 0;
    const high = store[HIGH]!;
    const low = store[LOW]!;
    // The envelope (as `pieces` read it for this time): values inside it drop the value pieces.
    const hasEnvelope = this.layout.envelopeShape !== null;
    const envHigh = hasEnvelope ? envelopeBounds.high : Number.NEGATIVE_INFINITY;
    const envLow = hasEnvelope ? envelopeBounds.low : Number.POSITIVE_INFINITY;
    let lower = Number.NEGATIVE_INFINITY;
    let upper = Number.POSITIVE_INFINITY;
    const ref = store[VALUE_REFERENCE]!;
    const upperEdge = this.edge32(UPPER_TAIL, boundary + this.correction(UPPER), floor);
    if (upperEdge !== null) upper = Math.min(upper, Math.max(ref + upperEdge, envHigh));
    const lowerEdge = this.edge32(LOWER_TAIL, boundary + this.correction(LOWER), floor);
    if (lowerEdge !== null) lower = Math.max(lower, Math.min(ref - lowerEdge, envLow));
    const residualEdge = this.edge32(RESIDUAL_TAIL, boundary + this.correction(RESIDUAL), floor);
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
      const range = high - low || Math.abs(high) || 1;
      lower = Math.max(lower, low - this.params.record_boundary * range);
      upper = Math.min(upper, high + this.params.record_boundary * range);
    }
    // No tail fitted and no records yet: the range seen so far is the best band there is.
    if (
      lower === Number.NEGATIVE_INFINITY &&
      upper === Number.POSITIVE_INFINITY &&
      this.count > 0
    ) {
      lower = low;
      upper = high;
    }
    return lower <= upper && Number.isFinite(lower) && Number.isFinite(upper)
      ? [lower, upper]
      : null;
  }

  snapshot(): DetectorSnapshot {
    const store = this.store;
    const store32 = this.store32;
    const layout = this.layout;
    const w = this.params.shape_length;
    const part = (from: Float64Array | Float32Array, at: number, n: number): number[] =>
      Array.from(from.subarray(at, at + n));
    const part16 = (at: number, n: number): number[] =>
      Array.from(this.store16.subarray(at, at + n), (c) => (c - SHAPE_ZERO) * SHAPE_STEP);
    const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
    const state: ExtremeValueState = {
      count: this.count,
      low: finiteOrNull(store[LOW]!),
      high: finiteOrNull(store[HIGH]!),
      residualTail: this.state32(RESIDUAL_TAIL),
      upperTail: this.state32(UPPER_TAIL),
      lowerTail: this.state32(LOWER_TAIL),
      ...(Number.isNaN(store[VALUE_REFERENCE]!) ? {} : { valueReference: store[VALUE_REFERENCE]! }),
      runTail: this.state32(RUN_TAIL),
      season: layout.season
        ? seasonState(store, SEASON, this.store16, this.seasonOffsets(SEASON))
        : EMPTY_SEASON,
      slowSeason: layout.slowSeason
        ? seasonState(store, SLOW_SEASON, this.store16, this.seasonOffsets(SLOW_SEASON))
        : EMPTY_SEASON,
      disagreementTail: this.state32(DISAGREEMENT_TAIL),
      recent: part(store32, layout.recent, this.params.cooldown_points),
      recentHead: this.recentHead,
      last: Number.isNaN(store[LAST]!) ? null : store[LAST]!,
      run: this.run,
      longestRun: this.longestRun,
      step: finiteOrNull(store[STEP]!),
      envelope: layout.envelopeShape
        ? envelopeState(this.envelopeAt(), layout.envelopeShape)
        : null,
      exceedances: part(store, layout.exceedances, CALIBRATED),
      scored: this.scored,
      shapeTail: this.state32(SHAPE_TAIL),
      shapeRecent: part(store, layout.shapeRecent, w),
      shapeHead: this.shapeHead,
      shapeCount: this.shapeCount,
      shapeMemory: part16(layout.shapeMemory, this.params.shape_memory * w),
      shapeMemoryCount: this.shapeMemoryCount,
      shapeMemoryInserts: this.shapeMemoryInserts,
      shapeDelay: part16(layout.shapeDelay, layout.shapeDelayRows * w),
      shapeDelayInserts: this.shapeDelayInserts,
      shapeScale: store[SHAPE_SCALE]!,
      shapeScaleCount: this.shapeScaleCount,
      ...(layout.cusum
        ? { cusum: ResidualCusum.stateOf(store, layout.cusumAt, store32, layout.cusumHeap) }
        : {}),
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }
}

/**
 * Bytes of a series' buffer by part, for `params` (parsed) and the seasonal models' slot count
 * (the period over the sampling interval, capped): what `bench:detectors --breakdown` prints.
 */
export function extremeValueStoreBytes(
  params: ExtremeValueParams,
  seasonSlots: number,
): { part: string; bytes: number }[] {
  const layout = layoutOf(params);
  const w = params.shape_length;
  const k = params.tail_size;
  const envelope = layout.envelopeShape;
  const models = (layout.season ? 1 : 0) + (layout.slowSeason ? 1 : 0);
  const parts = [
    {
      part: 'float64: scalars (range, pending evidence, seasonal models, envelope)',
      bytes: SCALAR_SLOTS * 8,
    },
    { part: 'float64: scalars of the six tails', bytes: TAILS * SCALARS * 8 },
    {
      part: 'float64: shape ring, calibration counts, pending raw pieces',
      bytes: (w + 2 * CALIBRATED) * 8,
    },
    { part: 'float64: level-shift CUSUM', bytes: layout.cusum ? ResidualCusum.SCALARS * 8 : 0 },
    { part: `float32: six tail heaps (K ${k})`, bytes: TAILS * k * 4 },
    { part: 'float32: envelope row days', bytes: envelope ? (envelope.days + 1) * 4 : 0 },
    { part: 'float32: CUSUM tail heap', bytes: layout.cusum ? layout.cusum.tailSize * 4 : 0 },
    { part: 'float32: cool-down ring', bytes: params.cooldown_points * 4 },
    { part: '16-bit: shape memory', bytes: params.shape_memory * w * 2 },
    { part: '16-bit: shape delay line', bytes: layout.shapeDelayRows * w * 2 },
    { part: '16-bit: envelope bounds', bytes: (layout.size16 - layout.envelopeCodes) * 2 },
    {
      part: `16-bit: seasonal offsets (${models} models)`,
      bytes: models * seasonSlots * 2,
    },
  ];
  return parts.filter((p) => p.bytes > 0);
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

/** A tail state with each heap value mapped by the monotone `to` (the sum follows the heap). */
function moved(part: PotState, to: (v: number) => number): PotState {
  const heap = part.heap.map(to);
  return { heap, sum: heap.reduce((a, b) => a + b, 0), seen: part.seen };
}

/**
 * A snapshot made before the level-shift CUSUM existed has no `cusum_k` in its params: it keeps
 * the behaviour it was made with (CUSUM off) rather than the new default.
 */
function withoutNewParts(snapshot: DetectorSnapshot): DetectorSnapshot {
  const params = snapshot.params;
  if (params === null || typeof params !== 'object' || 'cusum_k' in params) return snapshot;
  return { ...snapshot, params: { ...params, cusum_k: 0 } };
}
