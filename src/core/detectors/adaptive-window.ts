import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import { RollingMeanVar, type RollingMeanVarState } from '../stats/rolling-mean-var.js';
import { StepScale, type StepScaleState } from '../stats/robust.js';
import { SortedValues } from '../stats/sorted-values.js';
import { Welford, type WelfordState } from '../stats/welford.js';
import { stepScaleStateSchema } from './rolling-zscore.js';
import { ratioScore } from './score-map.js';
import {
  finiteNumber,
  parseSnapshot,
  rollingMeanVarStateSchema,
  welfordStateSchema,
} from './snapshot-parts.js';
import { VigilError } from '../../errors.js';

export const ADAPTIVE_WINDOW_KIND = 'adaptive-window';

export const adaptiveWindowParamsSchema = z
  .strictObject({
    /** Window length (event time) at start, ms. */
    initial_window_ms: z.number().positive().default(60_000),
    /** The window never shrinks below this, ms. */
    min_window_ms: z.number().positive().default(15_000),
    /** The window never grows beyond this; it is also how much history is kept, ms. */
    max_window_ms: z.number().positive().default(300_000),
    /** STABLE -> SPIKE when the value exceeds this multiple of the history's 95th percentile. */
    spike_factor: z.number().positive().default(3),
    /** The history percentile the spike rule compares with. */
    spike_quantile: z.number().gt(0).lt(1).default(0.95),
    /** SPIKE -> RECOVERING when the standard deviation of the last values drops below this. */
    recovery_std: z.number().positive().default(5),
    /** How many last values that standard deviation is taken over. */
    recovery_points: z.number().int().min(2).default(20),
    /** Window factor on a spike (halve). */
    shrink_factor: z.number().gt(0).lt(1).default(0.5),
    /** Window factor while recovering. */
    grow_factor: z.number().gt(1).default(1.5),
    /** Raw score that maps to 0.5 (the seed gives the score, not a decision boundary). */
    threshold: z.number().positive().default(4),
    /**
     * Fewest points the window holds: when its time span holds fewer (a slow stream, a gap), it
     * reaches back to the last `min_points` readings. Scoring starts once there are that many.
     */
    min_points: z.number().int().min(3).default(10),
    /** Cap on retained points, bounding memory for very fast streams. */
    max_points: z.number().int().min(16).default(20_000),
  })
  .refine((p) => p.min_window_ms <= p.initial_window_ms && p.initial_window_ms <= p.max_window_ms, {
    message: 'need min_window_ms <= initial_window_ms <= max_window_ms',
    path: ['initial_window_ms'],
  });

export type AdaptiveWindowParams = z.infer<typeof adaptiveWindowParamsSchema>;

export type WindowPhase = 'STABLE' | 'SPIKE' | 'RECOVERING';

/** The seed's score weights. */
const W_DEVIATION = 0.4;
const W_TREND = 0.35;
const W_SHARE = 0.25;
/**
 * Absolute floor under σ and σ_dx (the seed's 1e-6 epsilon, now a divide-by-zero guard only: the
 * floor that matters is the series' own resolution and typical step).
 */
const MIN_STD = 1e-6;

interface AdaptiveWindowState {
  phase: WindowPhase;
  windowMs: number;
  /** Event time at which the current window length was set (RECOVERING growth is timed from it). */
  windowSetAt: number;
  /** Event time of the last learned point; null before the first. */
  lastTime: number | null;
  /** Last value and last first difference; null before there is one. */
  lastValue: number | null;
  lastDiff: number | null;
  /** Retained history, oldest first: times, values, first differences (null for the first ever). */
  times: number[];
  values: number[];
  diffs: (number | null)[];
  /** 1 where the point was above μ + 2σ of the window when it arrived. */
  above: number[];
  /** Index into the retained arrays of the first point inside the window. */
  windowStart: number;
  windowStats: WelfordState;
  diffStats: WelfordState;
  aboveCount: number;
  recent: RollingMeanVarState;
  sinceRecompute: number;
  /** Resolution and typical step of the series: the data floor under σ and σ_dx. */
  steps: StepScaleState;
}

const stateSchema: z.ZodType<AdaptiveWindowState> = z.object({
  phase: z.enum(['STABLE', 'SPIKE', 'RECOVERING']),
  windowMs: z.number().positive(),
  windowSetAt: finiteNumber,
  lastTime: finiteNumber.nullable(),
  lastValue: finiteNumber.nullable(),
  lastDiff: finiteNumber.nullable(),
  times: z.array(finiteNumber),
  values: z.array(finiteNumber),
  diffs: z.array(finiteNumber.nullable()),
  above: z.array(z.number().int().min(0).max(1)),
  windowStart: z.number().int().nonnegative(),
  windowStats: welfordStateSchema,
  diffStats: welfordStateSchema,
  aboveCount: z.number().int().nonnegative(),
  recent: rollingMeanVarStateSchema,
  sinceRecompute: z.number().int().nonnegative(),
  steps: stepScaleStateSchema,
});

/**
 * The seed's adaptive window (§7), on event time: a state machine (STABLE, SPIKE, RECOVERING)
 * changes only the window length, never the score; the score weighs the deviation from the
 * window, the trend change and the share of window points above μ + 2σ. How the places where the
 * seed is silent are read, and why σ is floored: docs/detectors.md, "adaptive-window".
 */
export class AdaptiveWindowDetector implements Detector {
  readonly kind = ADAPTIVE_WINDOW_KIND;
  readonly params: Readonly<AdaptiveWindowParams>;
  private phase: WindowPhase = 'STABLE';
  private windowMs: number;
  private windowSetAt = 0;
  private lastTime = -Infinity;
  private lastValue: number | null = null;
  private lastDiff: number | null = null;
  // Retained history as parallel arrays; `offset` is the index of the oldest live entry, and the
  // arrays are compacted once half of them is dead (amortised O(1) eviction).
  private times: number[] = [];
  private values: number[] = [];
  private diffs: (number | null)[] = [];
  private above: number[] = [];
  private offset = 0;
  private windowStart = 0;
  private windowStats = new Welford();
  private diffStats = new Welford();
  private aboveCount = 0;
  private history = new SortedValues();
  private recent: RollingMeanVar;
  private sinceRecompute = 0;
  private steps = new StepScale();

  constructor(params: AdaptiveWindowParams, state?: AdaptiveWindowState) {
    this.params = Object.freeze({ ...params });
    this.windowMs = params.initial_window_ms;
    this.recent = new RollingMeanVar(params.recovery_points);
    if (state) this.load(state);
  }

  /** Current window state and length (for tests, docs and the dashboard). */
  get windowState(): { phase: WindowPhase; windowMs: number; points: number } {
    return { phase: this.phase, windowMs: this.windowMs, points: this.windowStats.count };
  }

  score(_timeMs: number, value: number): number {
    if (!Number.isFinite(value)) return 0;
    const n = this.windowStats.count;
    if (n < this.params.min_points || this.lastValue === null) return 0;
    const floor = Math.max(this.steps.floor, MIN_STD);
    const sigma = Math.max(this.windowStats.std, floor);
    const deviation = Math.abs(value - this.windowStats.mean) / sigma;
    const diff = value - this.lastValue;
    const trend =
      this.lastDiff === null
        ? 0
        : Math.abs(diff - this.lastDiff) / Math.max(this.diffStats.std, floor);
    const share = this.aboveCount / n;
    const raw = W_DEVIATION * deviation + W_TREND * trend + W_SHARE * share;
    return ratioScore(raw, this.params.threshold);
  }

  learn(timeMs: number, value: number): void {
    if (!Number.isFinite(value)) return;
    // Time going backwards (or NaN time) counts as no time elapsed.
    const t = timeMs > this.lastTime ? timeMs : this.lastValue === null ? 0 : this.lastTime;
    if (this.lastValue === null) this.windowSetAt = t;
    this.checkSpike(t, value);

    const mean = this.windowStats.mean;
    const sigma = Math.max(this.windowStats.std, this.steps.floor, MIN_STD);
    const isAbove = this.windowStats.count >= 2 && value > mean + 2 * sigma ? 1 : 0;
    const diff = this.lastValue === null ? null : value - this.lastValue;

    this.times.push(t);
    this.values.push(value);
    this.diffs.push(diff);
    this.above.push(isAbove);
    this.history.insert(value);
    this.windowStats.add(value);
    if (diff !== null) this.diffStats.add(diff);
    this.aboveCount += isAbove;
    this.lastTime = t;
    this.lastValue = value;
    this.lastDiff = diff;
    this.steps.update(value);

    this.recent.update(value);
    this.checkRecovery(t);
    this.slideWindow(t);
    this.dropOldHistory(t);
    this.maybeRecompute();
  }

  update(timeMs: number, value: number): number {
    const s = this.score(timeMs, value);
    this.learn(timeMs, value);
    return s;
  }

  snapshot(): DetectorSnapshot {
    const live = <T>(a: T[]): T[] => a.slice(this.offset);
    const state: AdaptiveWindowState = {
      phase: this.phase,
      windowMs: this.windowMs,
      windowSetAt: this.windowSetAt,
      lastTime: this.lastValue === null ? null : this.lastTime,
      lastValue: this.lastValue,
      lastDiff: this.lastDiff,
      times: live(this.times),
      values: live(this.values),
      diffs: live(this.diffs),
      above: live(this.above),
      windowStart: this.windowStart - this.offset,
      windowStats: this.windowStats.state(),
      diffStats: this.diffStats.state(),
      aboveCount: this.aboveCount,
      recent: this.recent.state(),
      sinceRecompute: this.sinceRecompute,
      steps: this.steps.state(),
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  private checkSpike(t: number, value: number): void {
    if (this.phase === 'SPIKE' || this.history.size < this.params.min_points) return;
    const p = this.history.quantile(this.params.spike_quantile);
    if (p > 0 && value > this.params.spike_factor * p) {
      this.phase = 'SPIKE';
      this.setWindow(this.windowMs * this.params.shrink_factor, t);
    }
  }

  private checkRecovery(t: number): void {
    if (this.phase === 'SPIKE') {
      if (this.recent.full && this.recent.std < this.params.recovery_std) {
        this.phase = 'RECOVERING';
        this.setWindow(this.windowMs * this.params.grow_factor, t);
      }
    } else if (this.phase === 'RECOVERING' && t - this.windowSetAt >= this.windowMs) {
      this.setWindow(this.windowMs * this.params.grow_factor, t);
    }
    if (this.phase === 'RECOVERING' && this.windowMs >= this.params.initial_window_ms) {
      this.phase = 'STABLE';
    }
  }

  private setWindow(ms: number, t: number): void {
    const { min_window_ms: minWindowMs, max_window_ms: maxWindowMs } = this.params;
    this.windowMs = Math.min(maxWindowMs, Math.max(minWindowMs, ms));
    this.windowSetAt = t;
  }

  /**
   * Move the window start to match (t - windowMs, t], reaching further back when that holds fewer
   * than `min_points` readings: forward evicts, backward re-admits.
   */
  private slideWindow(t: number): void {
    const cutoff = t - this.windowMs;
    const minPoints = this.params.min_points;
    const end = this.times.length;
    while (
      end - this.windowStart > minPoints &&
      (this.times[this.windowStart] as number) <= cutoff
    ) {
      this.leaveWindow(this.windowStart);
      this.windowStart++;
    }
    while (
      this.windowStart > this.offset &&
      ((this.times[this.windowStart - 1] as number) > cutoff || end - this.windowStart < minPoints)
    ) {
      this.windowStart--;
      this.enterWindow(this.windowStart);
    }
  }

  private enterWindow(i: number): void {
    this.windowStats.add(this.values[i] as number);
    const d = this.diffs[i];
    if (d !== null && d !== undefined) this.diffStats.add(d);
    this.aboveCount += this.above[i] as number;
  }

  private leaveWindow(i: number): void {
    this.windowStats.remove(this.values[i] as number);
    const d = this.diffs[i];
    if (d !== null && d !== undefined) this.diffStats.remove(d);
    this.aboveCount -= this.above[i] as number;
    this.sinceRecompute++;
  }

  /**
   * Forget points older than the longest possible window (but keep at least the `min_points` the
   * window may reach back to), or beyond the point cap.
   */
  private dropOldHistory(t: number): void {
    const cutoff = t - this.params.max_window_ms;
    const { min_points: minPoints, max_points: maxPoints } = this.params;
    for (;;) {
      const kept = this.times.length - this.offset;
      const expired = kept > minPoints && (this.times[this.offset] as number) <= cutoff;
      if (!expired && kept <= maxPoints) break;
      if (this.windowStart === this.offset) {
        this.leaveWindow(this.offset);
        this.windowStart++;
      }
      this.history.remove(this.values[this.offset] as number);
      this.offset++;
    }
    if (this.offset > 1024 && this.offset * 2 > this.times.length) this.compact();
  }

  private compact(): void {
    const k = this.offset;
    this.times = this.times.slice(k);
    this.values = this.values.slice(k);
    this.diffs = this.diffs.slice(k);
    this.above = this.above.slice(k);
    this.windowStart -= k;
    this.offset = 0;
  }

  /** Welford removal drifts a little; rebuild the window sums once per window's worth of removals. */
  private maybeRecompute(): void {
    const inWindow = this.times.length - this.windowStart;
    if (this.sinceRecompute < Math.max(64, inWindow)) return;
    this.sinceRecompute = 0;
    this.windowStats.recompute(this.values, this.windowStart, this.times.length);
    const ds: number[] = [];
    for (let i = this.windowStart; i < this.times.length; i++) {
      const d = this.diffs[i];
      if (d !== null && d !== undefined) ds.push(d);
    }
    this.diffStats.recompute(ds);
  }

  private load(s: AdaptiveWindowState): void {
    const n = s.times.length;
    if (
      s.values.length !== n ||
      s.diffs.length !== n ||
      s.above.length !== n ||
      s.windowStart > n ||
      s.recent.capacity !== this.params.recovery_points
    ) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        'adaptive-window snapshot: state does not match its params',
      );
    }
    this.phase = s.phase;
    this.windowMs = s.windowMs;
    this.windowSetAt = s.windowSetAt;
    this.lastTime = s.lastTime ?? -Infinity;
    this.lastValue = s.lastValue;
    this.lastDiff = s.lastDiff;
    this.times = [...s.times];
    this.values = [...s.values];
    this.diffs = [...s.diffs];
    this.above = [...s.above];
    this.offset = 0;
    this.windowStart = s.windowStart;
    this.windowStats = Welford.fromState(s.windowStats);
    this.diffStats = Welford.fromState(s.diffStats);
    this.aboveCount = s.aboveCount;
    this.history = SortedValues.fromValues(s.values);
    this.recent = RollingMeanVar.fromState(s.recent);
    this.sinceRecompute = s.sinceRecompute;
    this.steps = StepScale.fromState(s.steps);
  }
}

export const adaptiveWindowFactory: DetectorFactory<AdaptiveWindowParams> = {
  kind: ADAPTIVE_WINDOW_KIND,
  description: 'Adaptive time window (STABLE/SPIKE/RECOVERING) with the seed incremental score',
  paramsSchema: adaptiveWindowParamsSchema,
  create: (params) => new AdaptiveWindowDetector(params),
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(
      snapshot,
      ADAPTIVE_WINDOW_KIND,
      adaptiveWindowParamsSchema,
      stateSchema,
    );
    return new AdaptiveWindowDetector(params, state);
  },
};
