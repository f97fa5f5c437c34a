import { z } from 'zod';
import type { DetectorSnapshot } from '../detector.js';
import { parseSnapshot } from '../snapshot-parts.js';
import type { VectorDetector, VectorDetectorFactory } from '../vector-detector.js';
import {
  Baseline,
  baselineStateSchema,
  batchFit,
  isUsable,
  minimumVectors,
  normalise,
  type BaselineFit,
  type BaselineParams,
  type BaselineState,
} from './baseline.js';
import { ratioScore } from '../score-map.js';
import { VigilError } from '../../../errors.js';
import type { TrainableVectorDetector } from './trainable.js';

/**
 * What a covariance detector (Hotelling, PCA) is besides its statistic: the baseline it learns,
 * the scoring model derived from each fit (rebuilt after every refit, never stored, so a restore
 * rebuilds the same one), the learn/train/update verbs and the snapshot `{dimensions, baseline}`.
 * A subclass scores with `model` (null during the training period) and explains its last score.
 */
export interface BaselineDetectorState {
  readonly dimensions: number;
  readonly baseline: BaselineState;
  /**
   * Each statistic's 0.5 boundary in decades, once calibrated on a training period (absent:
   * `p_value`'s for all).
   */
  readonly decades?: number[];
}

export const baselineDetectorStateSchema: z.ZodType<BaselineDetectorState> = z.object({
  dimensions: z.number().int().positive(),
  baseline: baselineStateSchema,
  decades: z.array(z.number().positive()).optional(),
});

/** Contiguous folds of the held-out calibration (each scored under a fit of the others). */
const FOLDS = 5;

export abstract class BaselineDetector<
  P extends BaselineParams,
  M,
> implements TrainableVectorDetector {
  abstract readonly kind: string;
  readonly dimensions: number;
  readonly params: Readonly<P>;
  /**
   * Per statistic, the decades of improbability that score 0.5 (pValueScore's scale): those of
   * `p_value`, or more once calibrated on the held-out scores of a pipeline's training period.
   */
  private readonly boundaries: Float64Array;
  /** Decades of each statistic of the vector being scored. */
  private readonly decades: Float64Array;
  /** The statistic behind the last score (the one `explain` explains). */
  protected lastStatistic = 0;
  protected model: M | null;
  /** The model and score of the last scored vector, for `contributions`. */
  protected lastModel: M | null = null;
  protected lastScore = 0;
  private readonly baseline: Baseline;

  constructor(
    params: P,
    dimensions: number,
    state: BaselineDetectorState | undefined,
    private readonly build: (fit: BaselineFit, params: Readonly<P>) => M,
    /** Statistics combined into the score (each calibrated on its own). */
    statistics = 1,
  ) {
    this.params = Object.freeze({ ...params });
    this.dimensions = dimensions;
    this.baseline = new Baseline(dimensions, this.params, state?.baseline);
    this.boundaries = new Float64Array(statistics).fill(-Math.log10(params.p_value));
    if (state?.decades) {
      if (state.decades.length !== statistics) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          `a calibration of ${state.decades.length} statistics, expected ${statistics}`,
        );
      }
      this.boundaries.set(state.decades);
    }
    this.decades = new Float64Array(statistics);
    this.model = this.baseline.fit && build(this.baseline.fit, this.params);
  }

  /**
   * Each statistic's decades of improbability (−log₁₀ of its p-value, any multiple-test
   * correction included) for a usable vector under `model`, written into `out`; leaves in the
   * detector's scratch what `explain` needs about this vector.
   */
  protected abstract statisticDecades(model: M, values: Float64Array, out: Float64Array): void;
  /** Each metric's non-negative share of the last score (any scale), under its model. */
  protected abstract explain(model: M, out: Float64Array): void;

  score(_timeMs: number, values: Float64Array): number {
    this.lastScore = 0;
    const model = this.model;
    if (!isUsable(values, this.dimensions) || !model) return 0;
    const score = this.combined(model, values);
    this.lastModel = model;
    this.lastScore = score;
    return score;
  }

  /** The highest of the statistics' scores, each on its own boundary; sets `lastStatistic`. */
  private combined(model: M, values: Float64Array): number {
    const decades = this.decades;
    this.statisticDecades(model, values, decades);
    let best = 0;
    let score = -1;
    for (let s = 0; s < decades.length; s++) {
      const x = ratioScore(decades[s] as number, this.boundaries[s] as number);
      if (x > score) {
        score = x;
        best = s;
      }
    }
    this.lastStatistic = best;
    return score;
  }

  get trainingClosed(): boolean {
    return this.baseline.isClosed;
  }

  get trainedVectors(): number {
    return this.baseline.count;
  }

  get minimumTraining(): number {
    return minimumVectors(this.dimensions);
  }

  /**
   * End the pipeline's training period: fit on all of it now, then calibrate the 0.5 boundary
   * on the training period's own held-out scores — each kept training vector scored under a fit
   * of the other folds, so the scores show the estimation error and the serial dependence that
   * the F and chi-square laws leave out. The boundary moves to their `calibration_quantile`
   * (never below `p_value`'s). Returns the held-out scores on the calibrated scale.
   */
  closeTraining(): Float64Array {
    const rows = this.baseline.close(this.kind);
    this.rebuild();
    this.lastModel = null;
    this.lastScore = 0;
    const held = this.heldOut(rows);
    if (held.length === 0) return new Float64Array(0);
    const m = this.boundaries.length;
    const { calibration_quantile: q, calibration_margin: margin } = this.params;
    for (let s = 0; s < m; s++) {
      const sorted = held.map((d) => d[s] as number).sort((a, b) => a - b);
      const at = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
      const boundary = (sorted[at] as number) * margin;
      if (boundary > (this.boundaries[s] as number)) this.boundaries[s] = boundary;
    }
    return Float64Array.from(held, (d) => {
      let score = 0;
      for (let s = 0; s < m; s++) {
        score = Math.max(score, ratioScore(d[s] as number, this.boundaries[s] as number));
      }
      return score;
    });
  }

  /**
   * Each row's statistics (decades) under a fit of the other folds; empty when there are too
   * few rows for two folds.
   */
  private heldOut(rows: readonly Float64Array[]): Float64Array[] {
    const n = rows.length;
    const folds = Math.min(FOLDS, Math.floor(n / minimumVectors(this.dimensions)));
    if (folds < 2) return [];
    const held = rows.map(() => new Float64Array(this.boundaries.length));
    for (let f = 0; f < folds; f++) {
      const fit = batchFit(
        rows.filter((_, i) => i % folds !== f),
        this.params,
      );
      const model = fit && this.build(fit, this.params);
      if (!model) continue;
      for (let i = f; i < n; i += folds) this.statisticDecades(model, rows[i]!, held[i]!);
    }
    return held;
  }

  contributions(out: Float64Array): void {
    const model = this.lastModel;
    if (this.lastScore === 0 || !model) {
      out.fill(0);
      return;
    }
    this.explain(model, out);
    normalise(out);
  }

  learn(_timeMs: number, values: Float64Array): void {
    if (isUsable(values, this.dimensions) && this.baseline.learn(values)) this.rebuild();
  }

  train(_timeMs: number, values: Float64Array): void {
    if (isUsable(values, this.dimensions) && this.baseline.train(values)) this.rebuild();
  }

  update(timeMs: number, values: Float64Array): number {
    const score = this.score(timeMs, values);
    this.learn(timeMs, values);
    return score;
  }

  snapshot(): DetectorSnapshot {
    const native = -Math.log10(this.params.p_value);
    const calibrated = this.boundaries.some((b) => b !== native);
    const state: BaselineDetectorState = {
      dimensions: this.dimensions,
      baseline: this.baseline.state(),
      ...(calibrated ? { decades: Array.from(this.boundaries) } : {}),
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  private rebuild(): void {
    this.model = this.baseline.fit && this.build(this.baseline.fit, this.params);
  }
}

/** The registry entry of a baseline detector: `make` creates it fresh or from a restored state. */
export function baselineDetectorFactory<P extends BaselineParams>(
  kind: string,
  description: string,
  paramsSchema: z.ZodType<P>,
  make: (params: P, dimensions: number, state?: BaselineDetectorState) => VectorDetector,
): VectorDetectorFactory<P> {
  return {
    kind,
    description,
    paramsSchema,
    create: (params, dimensions) => make(params, dimensions),
    minimumTraining: minimumVectors,
    restore: (snapshot) => {
      const { params, state } = parseSnapshot(
        snapshot,
        kind,
        paramsSchema,
        baselineDetectorStateSchema,
      );
      return make(params, state.dimensions, state);
    },
  };
}
