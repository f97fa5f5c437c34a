import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import type { ExplainingDetector, Explanation } from './explanation.js';
import type { EwMeanVarState } from '../stats/ew-mean-var.js';
import { ratioScore } from './score-map.js';
import { finiteNumber, parseSnapshot, sharedParams } from './snapshot-parts.js';

export const EW_ZSCORE_KIND = 'ewzscore';

export const ewZScoreParamsSchema = z.strictObject({
  /** Weight of the newest point; 0.01 remembers about the last 100 points. */
  alpha: z.number().gt(0).max(1).default(0.01),
  /** |z| that counts as anomalous; it maps to score 0.5. */
  threshold: z.number().positive().default(3),
  /** Floor under the standard deviation (the seed's divide-by-zero guard). */
  min_std: z.number().positive().default(1e-6),
  /** Points learned before scoring starts. */
  warmup: z.number().int().min(2).default(30),
});

export type EwZScoreParams = z.infer<typeof ewZScoreParamsSchema>;

const stateSchema: z.ZodType<EwMeanVarState> = z.object({
  count: z.number().int().nonnegative(),
  mean: finiteNumber,
  variance: finiteNumber.refine((v) => v >= 0, 'must be >= 0'),
});

/**
 * Online z-score against an exponentially weighted mean and variance — the core of the `fast`
 * strategy. The hot path is a handful of arithmetic operations on numeric fields and allocates
 * nothing; the recurrence is EwMeanVar's (same state shape, tested against the batch formulas
 * there), written inline because the call through a second object cost about a third of the
 * throughput. The first 1/alpha points use equal weights, so the variance is not biased low
 * right after warm-up.
 */
export class EwZScoreDetector implements Detector, ExplainingDetector {
  /** Shared by every series; the constants are read from it rather than copied per series. */
  readonly params: Readonly<EwZScoreParams>;
  private n = 0;
  // -0, not 0: V8 stores a field that starts as a small integer in integer form and changes its
  // representation on the first fractional value, which deoptimises the hot path mid-stream.
  private mean = -0;
  private variance = -0;

  /** `params` is kept by reference when frozen, so that series can share one object. */
  constructor(params: EwZScoreParams, state?: EwMeanVarState) {
    this.params = Object.isFrozen(params) ? params : Object.freeze({ ...params });
    if (state) {
      this.n = state.count;
      this.mean = state.mean;
      this.variance = state.variance;
    }
  }

  get kind(): string {
    return EW_ZSCORE_KIND;
  }

  score(_timeMs: number, value: number): number {
    // `value - value` is NaN exactly for NaN and ±Infinity: one subtraction instead of a call.
    if (value - value !== 0 || this.n < this.params.warmup) return 0;
    const std = Math.sqrt(this.variance);
    const z = Math.abs(value - this.mean) / (std > this.params.min_std ? std : this.params.min_std);
    return ratioScore(z, this.params.threshold);
  }

  learn(_timeMs: number, value: number): void {
    if (value - value !== 0) return;
    const n = ++this.n;
    // Equal weights (a = 1/n) until 1/alpha points: the first point gets a = 1 and becomes the
    // mean with zero variance, so it needs no branch of its own.
    const a = n * this.params.alpha < 1 ? 1 / n : this.params.alpha;
    const d = value - this.mean;
    const inc = a * d;
    this.mean += inc;
    this.variance = (1 - a) * (this.variance + d * inc);
  }

  /** `score` then `learn`, fused: one load and one store of each field per point. */
  update(_timeMs: number, value: number): number {
    if (value - value !== 0) return 0;
    const params = this.params;
    const n = this.n + 1;
    const mean = this.mean;
    const variance = this.variance;
    let s = 0;
    if (n > params.warmup) {
      const std = Math.sqrt(variance);
      s = ratioScore(
        Math.abs(value - mean) / (std > params.min_std ? std : params.min_std),
        params.threshold,
      );
    }
    this.n = n;
    const a = n * params.alpha < 1 ? 1 / n : params.alpha;
    const d = value - mean;
    const inc = a * d;
    this.mean = mean + inc;
    this.variance = (1 - a) * (variance + d * inc);
    return s;
  }

  /** Expected: the mean; band: mean ± threshold·σ, where the score reaches 0.5. */
  explain(timeMs: number, value: number): Explanation {
    const band = this.band(timeMs, value);
    if (band === null) return { expected: null, band: null, evidence: [] };
    return {
      expected: this.mean,
      band,
      evidence: [{ name: 'zscore', score: this.score(timeMs, value) }],
    };
  }

  band(_timeMs: number, value: number): [number, number] | null {
    if (value - value !== 0 || this.n < this.params.warmup) return null;
    const std = Math.sqrt(this.variance);
    const reach = this.params.threshold * (std > this.params.min_std ? std : this.params.min_std);
    return [this.mean - reach, this.mean + reach];
  }

  snapshot(): DetectorSnapshot {
    const state: EwMeanVarState = { count: this.n, mean: this.mean, variance: this.variance };
    return { kind: this.kind, params: { ...this.params }, state };
  }
}

export const ewZScoreFactory: DetectorFactory<EwZScoreParams> = {
  kind: EW_ZSCORE_KIND,
  description: 'Online z-score with exponentially weighted mean/variance (alpha=0.01); fastest',
  paramsSchema: ewZScoreParamsSchema,
  create: (params) => new EwZScoreDetector(params),
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(
      snapshot,
      EW_ZSCORE_KIND,
      ewZScoreParamsSchema,
      stateSchema,
    );
    return new EwZScoreDetector(sharedParams(EW_ZSCORE_KIND, params), state);
  },
};
