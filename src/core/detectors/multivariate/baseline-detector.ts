import { z } from 'zod';
import type { DetectorSnapshot } from '../detector.js';
import { parseSnapshot } from '../snapshot-parts.js';
import type { VectorDetector, VectorDetectorFactory } from '../vector-detector.js';
import {
  Baseline,
  baselineStateSchema,
  isUsable,
  normalise,
  type BaselineFit,
  type BaselineParams,
  type BaselineState,
} from './baseline.js';
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
}

export const baselineDetectorStateSchema: z.ZodType<BaselineDetectorState> = z.object({
  dimensions: z.number().int().positive(),
  baseline: baselineStateSchema,
});

export abstract class BaselineDetector<
  P extends BaselineParams,
  M,
> implements TrainableVectorDetector {
  abstract readonly kind: string;
  readonly dimensions: number;
  readonly params: Readonly<P>;
  /** Decades of improbability below `p_value` (pValueScore's scale). */
  protected readonly decades: number;
  protected model: M | null;
  /** The model and score of the last scored vector, for `contributions`. */
  protected lastModel: M | null = null;
  protected lastScore = 0;
  private readonly baseline: Baseline;

  constructor(
    params: P,
    dimensions: number,
    state: BaselineState | undefined,
    private readonly build: (fit: BaselineFit, params: Readonly<P>) => M,
  ) {
    this.params = Object.freeze({ ...params });
    this.dimensions = dimensions;
    this.baseline = new Baseline(dimensions, this.params, state);
    this.decades = -Math.log10(params.p_value);
    this.model = this.baseline.fit && build(this.baseline.fit, this.params);
  }

  abstract score(timeMs: number, values: Float64Array): number;
  /** Each metric's non-negative share of the last score (any scale), under its model. */
  protected abstract explain(model: M, out: Float64Array): void;

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
    const state: BaselineDetectorState = {
      dimensions: this.dimensions,
      baseline: this.baseline.state(),
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
  make: (params: P, dimensions: number, state?: BaselineState) => VectorDetector,
): VectorDetectorFactory<P> {
  return {
    kind,
    description,
    paramsSchema,
    create: (params, dimensions) => make(params, dimensions),
    restore: (snapshot) => {
      const { params, state } = parseSnapshot(
        snapshot,
        kind,
        paramsSchema,
        baselineDetectorStateSchema,
      );
      return make(params, state.dimensions, state.baseline);
    },
  };
}
