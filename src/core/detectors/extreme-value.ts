import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import { PeaksOverThreshold } from '../stats/peaks-over-threshold.js';
import { SeasonalProfile } from '../stats/seasonal-profile.js';
import { ratioScore } from './score-map.js';
import { finiteNumber, parseSnapshot } from './snapshot-parts.js';

export const EXTREME_VALUE_KIND = 'extreme-value';

export const extremeValueParamsSchema = z.strictObject({
  /** Points learned before scoring starts. */
  warmup: z.int().min(1).default(150),
  /** K of the peaks-over-threshold tail fit: the K largest values seen define the tail. */
  tail_size: z.int().min(5).max(10_000).default(60),
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
  /** Weight of the newest value in a seasonal slot's mean. */
  season_alpha: z.number().gt(0).max(1).default(0.1),
  /** Cap on the slots per cycle, so fast series keep bounded memory. */
  season_max_slots: z.int().min(1).max(100_000).default(1440),
  /**
   * One alert per incident: a point scores only when its evidence beats every point of the
   * previous `cooldown_points` (0 turns this off and every point keeps its evidence).
   */
  cooldown_points: z.int().min(0).max(100_000).default(50),
});

export type ExtremeValueParams = z.infer<typeof extremeValueParamsSchema>;

const potState = z.object({
  heap: z.array(finiteNumber),
  sum: finiteNumber,
  seen: z.int().nonnegative(),
});

const stateSchema = z.object({
  count: z.int().nonnegative(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  residualTail: potState,
  upperTail: potState,
  lowerTail: potState,
  season: z.object({
    firstTime: finiteNumber.nullable(),
    firstValue: finiteNumber.nullable(),
    means: z.array(finiteNumber.nullable()).nullable(),
  }),
  recent: z.array(finiteNumber),
  recentHead: z.int().nonnegative(),
  last: z.number().nullable(),
  run: z.int().nonnegative(),
  runTail: potState,
});

type ExtremeValueState = z.infer<typeof stateSchema>;

/**
 * Extreme-value evidence with one alert per incident — the `default` strategy's detector.
 *
 * Three pieces of evidence, each a calibrated tail probability or a plain fact, combined by max:
 * - the seasonal residual |x - usual value at this time of day| in the tail of all residuals so far,
 * - the value itself in the upper or lower tail of all values so far,
 * - a record: the value lies outside everything seen before (how far, relative to the range),
 * - a stuck sensor: a run of identical values longer than this series' runs usually are.
 * Tail probabilities come from a peaks-over-threshold fit (PeaksOverThreshold), so "how rare" is
 * measured per series on its own history rather than with one fixed sigma for every series.
 * A point then scores only if its evidence beats every point of the last `cooldown_points`: a
 * lasting incident raises one alert at its start (and again only if it gets worse), not one per
 * point. Tuning and its evidence are in docs/detectors.md.
 */
export class ExtremeValueDetector implements Detector {
  readonly kind = EXTREME_VALUE_KIND;
  readonly params: Readonly<ExtremeValueParams>;
  private count = 0;
  private low = Number.POSITIVE_INFINITY;
  private high = Number.NEGATIVE_INFINITY;
  private readonly residualTail: PeaksOverThreshold;
  private readonly upperTail: PeaksOverThreshold;
  private readonly lowerTail: PeaksOverThreshold;
  /** Lengths of runs of identical values, in the same tail model: how long is unusually long. */
  private readonly runTail: PeaksOverThreshold;
  private readonly season: SeasonalProfile | undefined;
  /** Evidence of the last `cooldown_points` points (a ring). */
  private readonly recent: Float64Array;
  private recentHead = 0;
  /** Stuck-sensor evidence: the previous value and how many times in a row it has repeated. */
  private last = Number.NaN;
  private run = 0;
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
        ? new SeasonalProfile(
            params.season_ms,
            params.season_alpha,
            params.season_max_slots,
            state?.season,
          )
        : undefined;
    this.recent = new Float64Array(params.cooldown_points);
    if (state) {
      this.count = state.count;
      this.low = state.low ?? Number.POSITIVE_INFINITY;
      this.high = state.high ?? Number.NEGATIVE_INFINITY;
      this.recent.set(state.recent.slice(0, params.cooldown_points));
      this.recentHead = state.recentHead % Math.max(1, params.cooldown_points);
      this.last = state.last ?? Number.NaN;
      this.run = state.run;
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
    const residual = this.season ? Math.abs(this.season.residual(timeMs, value)) : Number.NaN;
    if (residual === residual) this.residualTail.add(residual);
    this.upperTail.add(value);
    this.lowerTail.add(-value);
    this.season?.learn(timeMs, value);
    if (value < this.low) this.low = value;
    if (value > this.high) this.high = value;
    this.run = value === this.last ? this.run + 1 : 0;
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
    const residual = this.season ? Math.abs(this.season.residual(timeMs, value)) : Number.NaN;
    const log10p = Math.max(
      residual === residual ? this.residualTail.surprise(residual) : 0,
      this.upperTail.surprise(value),
      this.lowerTail.surprise(-value),
      value === this.last ? this.runTail.surprise(this.run + 1) : 0,
    );
    const tail = 1 - Math.pow(2, -log10p / this.params.alert_log10_p);
    const range = this.high - this.low || Math.abs(this.high) || 1;
    const beyond = Math.max(value - this.high, this.low - value, 0) / range;
    const record =
      beyond > 0 && this.count >= this.params.record_warmup
        ? ratioScore(beyond, this.params.record_boundary)
        : 0;
    return tail > record ? tail : record;
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
      season: this.season?.state() ?? { firstTime: null, firstValue: null, means: null },
      recent: Array.from(this.recent),
      recentHead: this.recentHead,
      last: Number.isNaN(this.last) ? null : this.last,
      run: this.run,
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
