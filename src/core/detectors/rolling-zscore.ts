import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import { RollingMeanVar, type RollingMeanVarState } from '../stats/rolling-mean-var.js';
import { StepScale, type StepScaleState } from '../stats/robust.js';
import { ratioScore } from './score-map.js';
import { finiteNumber, parseSnapshot, rollingMeanVarStateSchema } from './snapshot-parts.js';
import { VigilError } from '../../errors.js';

export const ROLLING_ZSCORE_KIND = 'rolling-zscore';

export const rollingZScoreParamsSchema = z.strictObject({
  /** Number of past points the mean and standard deviation are taken over. */
  window: z.number().int().min(3).max(1_000_000).default(30),
  /** |z| that counts as anomalous; it maps to score 0.5. */
  threshold: z.number().positive().default(3),
  /** Absolute floor under the standard deviation (divide-by-zero guard; see also the data floor). */
  min_std: z.number().positive().default(1e-6),
});

export type RollingZScoreParams = z.infer<typeof rollingZScoreParamsSchema>;

/** Validation of a StepScale state on restore (shared with the adaptive window). */
export const stepScaleStateSchema: z.ZodType<StepScaleState> = z.object({
  last: finiteNumber.nullable(),
  resolution: z.number().nonnegative(),
  meanStep: z.number().nonnegative(),
  steps: z.number().int().nonnegative(),
});

interface RollingZScoreState {
  window: RollingMeanVarState;
  steps: StepScaleState;
}

const stateSchema: z.ZodType<RollingZScoreState> = z.object({
  window: rollingMeanVarStateSchema,
  steps: stepScaleStateSchema,
});

/**
 * The seed's baseline: |x - mean| / std over the previous `window` points (sample standard
 * deviation), scored 0 until the window is full.
 *
 * The std is floored by the series' own resolution and typical step (`StepScale`, robust.ts) as
 * well as by `min_std`: a window of 30 identical readings — a run of zeros in count data, a flat
 * stretch of an integer or rounded series — has std 0, and without a data floor the next
 * one-unit change scored as a million-sigma event. With it, a one-quantum change from a flat
 * window is 2 floors (below the boundary), while a stuck sensor on continuous data still stands
 * out when its readings resume.
 */
export class RollingZScoreDetector implements Detector {
  readonly kind = ROLLING_ZSCORE_KIND;
  readonly params: Readonly<RollingZScoreParams>;
  private readonly stats: RollingMeanVar;
  private readonly steps: StepScale;

  constructor(params: RollingZScoreParams, state?: RollingZScoreState) {
    this.params = Object.freeze({ ...params });
    if (state && state.window.capacity !== params.window) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        'rolling-zscore snapshot: state capacity does not match params.window',
      );
    }
    this.stats = state ? RollingMeanVar.fromState(state.window) : new RollingMeanVar(params.window);
    this.steps = state ? StepScale.fromState(state.steps) : new StepScale();
  }

  score(_timeMs: number, value: number): number {
    if (!Number.isFinite(value) || !this.stats.full) return 0;
    const std = Math.max(this.stats.sampleStd, this.steps.floor, this.params.min_std);
    return ratioScore(Math.abs(value - this.stats.mean) / std, this.params.threshold);
  }

  learn(_timeMs: number, value: number): void {
    if (!Number.isFinite(value)) return;
    this.stats.update(value);
    this.steps.update(value);
  }

  update(timeMs: number, value: number): number {
    const s = this.score(timeMs, value);
    this.learn(timeMs, value);
    return s;
  }

  snapshot(): DetectorSnapshot {
    const state: RollingZScoreState = { window: this.stats.state(), steps: this.steps.state() };
    return { kind: this.kind, params: { ...this.params }, state };
  }
}

export const rollingZScoreFactory: DetectorFactory<RollingZScoreParams> = {
  kind: ROLLING_ZSCORE_KIND,
  description: 'Rolling z-score over the last `window` points (the seed baseline, 3-sigma)',
  paramsSchema: rollingZScoreParamsSchema,
  create: (params) => new RollingZScoreDetector(params),
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(
      snapshot,
      ROLLING_ZSCORE_KIND,
      rollingZScoreParamsSchema,
      stateSchema,
    );
    return new RollingZScoreDetector(params, state);
  },
};
