import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import type { EvidenceItem, ExplainingDetector, Explanation } from './explanation.js';
import { PeaksOverThreshold } from '../stats/peaks-over-threshold.js';
import { LevelSeasonModel } from '../stats/level-season.js';
import { ratioScore } from './score-map.js';
import { finiteNumber, parseSnapshot } from './snapshot-parts.js';

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
});

type ExtremeValueState = z.infer<typeof stateSchema>;

const EMPTY_SEASON = { firstTime: null, level: null, offsets: null };

/** Indexes of the pieces of evidence in `ExtremeValueDetector.pieces`. */
const RESIDUAL = 0;
const UPPER = 1;
const LOWER = 2;
const STUCK = 3;
const DISAGREEMENT = 4;
const RECORD = 5;
const PIECE_NAMES = [
  'seasonal-residual',
  'upper-tail',
  'lower-tail',
  'stuck',
  'forecast-disagreement',
  'record',
];

/**
 * Extreme-value evidence with one alert per incident — the `default` strategy's detector.
 *
 * Pieces of evidence, each a calibrated tail probability or a plain fact, combined by max:
 * - the residual |x - (level + usual offset at this time of day)| in the tail of all residuals,
 * - the disagreement between that fast forecaster and a slow one (same model, slower level):
 *   large only after a recent change, such as a day whose pattern breaks,
 * - the value itself in the upper or lower tail of all values so far,
 * - a stuck sensor: a run of identical values far longer than this series' runs have been,
 * - a record: the value lies outside everything seen before (how far, relative to the range).
 * Tail probabilities come from a peaks-over-threshold fit (PeaksOverThreshold) on the series' own
 * history, floored at the data's resolution (the smallest step seen) and capped at the observed
 * frequency, so "how rare" means the same on every series whatever its units or noise.
 * A point then scores only if its evidence beats every point of the last `cooldown_points`: a
 * lasting incident raises one alert at its start (and again only if it gets worse), not one per
 * point. What was tuned, on which data: docs/nab.md.
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
  private readonly scratch = new Float64Array(PIECE_NAMES.length);
  /** Evidence computed by `score`, reused by `learn` for the same point. */
  private pendingTime = Number.NaN;
  private pendingValue = Number.NaN;
  private pendingEvidence = 0;

  constructor(params: ExtremeValueParams, state?: ExtremeValueState) {
    this.params = Object.freeze({ ...params });
    this.residualTail = new PeaksOverThreshold(params.tail_size, state?.residualTail);
    this.upperTail = new PeaksOverThreshold(params.tail_size, state?.upperTail);
    this.lowerTail = new PeaksOverThreshold(params.tail_size, state?.lowerTail);
    this.runTail = new PeaksOverThreshold(params.tail_size, state?.runTail, 1);
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
    this.disagreementTail = new PeaksOverThreshold(params.tail_size, state?.disagreementTail);
    this.recent = new Float64Array(params.cooldown_points);
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
    }
  }

  score(timeMs: number, value: number): number {
    if (value - value !== 0) return 0;
    const evidence = this.evidence(timeMs, value);
    this.pendingTime = timeMs;
    this.pendingValue = value;
    this.pendingEvidence = evidence;
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) if (!(evidence > recent[i]!)) return 0;
    return evidence;
  }

  learn(timeMs: number, value: number): void {
    if (value - value !== 0) return;
    const evidence =
      timeMs === this.pendingTime && value === this.pendingValue
        ? this.pendingEvidence
        : this.evidence(timeMs, value);
    this.pendingTime = Number.NaN;
    if (this.recent.length > 0) {
      this.recent[this.recentHead] = evidence;
      this.recentHead = (this.recentHead + 1) % this.recent.length;
    }
    // Only real residuals enter the tail: a slot not seen yet says nothing about the season.
    const residual = this.residual(timeMs, value);
    if (residual === residual) this.residualTail.add(residual);
    const disagreement = this.disagreement(timeMs);
    if (disagreement === disagreement) this.disagreementTail.add(disagreement);
    this.slowSeason?.learn(timeMs, value);
    this.upperTail.add(value);
    this.lowerTail.add(-value);
    this.season?.learn(timeMs, value);
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

  /** The combined evidence for a point in [0, 1), before the cool-down. */
  private evidence(timeMs: number, value: number): number {
    if (this.count < this.params.warmup) return 0;
    const pieces = this.pieces(timeMs, value);
    let log10p = pieces[RESIDUAL]!;
    if (pieces[UPPER]! > log10p) log10p = pieces[UPPER]!;
    if (pieces[LOWER]! > log10p) log10p = pieces[LOWER]!;
    if (pieces[STUCK]! > log10p) log10p = pieces[STUCK]!;
    if (pieces[DISAGREEMENT]! > log10p) log10p = pieces[DISAGREEMENT]!;
    const tail = this.tailScore(log10p);
    return tail > pieces[RECORD]! ? tail : pieces[RECORD]!;
  }

  /**
   * Every piece of evidence for a point, into the scratch array: -log10 p for the tail pieces,
   * the score for the record. Read-only; shared by `evidence` and `explain` so they agree.
   */
  private pieces(timeMs: number, value: number): Float64Array {
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

  /** |x - expected| under the level + season model; NaN while the slot is unknown. */
  private residual(timeMs: number, value: number): number {
    return this.season ? Math.abs(value - this.season.expected(timeMs)) : Number.NaN;
  }

  /**
   * The pieces of `evidence` for a point, each mapped like the combined evidence, so the
   * strongest equals what `score` gives before the cool-down. Expected: level + the slot's
   * offset. Band: the values for which no value-based piece (residual, tails, record) reaches 0.5.
   * Read-only, like `score`; not on the hot path (events explain their peaks only).
   */
  explain(timeMs: number, value: number): Explanation {
    if (value - value !== 0) return { expected: null, band: null, evidence: [] };
    const seasonal = this.season ? this.season.expected(timeMs) : Number.NaN;
    const expected = seasonal === seasonal ? seasonal : null;
    if (this.count < this.params.warmup) return { expected, band: null, evidence: [] };
    const pieces = this.pieces(timeMs, value);
    const evidence: EvidenceItem[] = PIECE_NAMES.map((name, i) => ({
      name,
      score: i === RECORD ? pieces[i]! : this.tailScore(pieces[i]!),
    }))
      .filter((p) => p.score > 0)
      .sort((a, b) => b.score - a.score);

    const boundary = this.params.alert_log10_p;
    const floor = this.step < Number.POSITIVE_INFINITY ? this.step : 0;
    let lower = Number.NEGATIVE_INFINITY;
    let upper = Number.POSITIVE_INFINITY;
    const upperEdge = this.upperTail.edge(boundary, floor);
    if (upperEdge !== null) upper = Math.min(upper, upperEdge);
    const lowerEdge = this.lowerTail.edge(boundary, floor);
    if (lowerEdge !== null) lower = Math.max(lower, -lowerEdge);
    const residualEdge = this.residualTail.edge(boundary, floor);
    if (expected !== null && residualEdge !== null) {
      lower = Math.max(lower, expected - residualEdge);
      upper = Math.min(upper, expected + residualEdge);
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
      snapshot,
      EXTREME_VALUE_KIND,
      extremeValueParamsSchema,
      stateSchema,
    );
    return new ExtremeValueDetector(params, state);
  },
};
