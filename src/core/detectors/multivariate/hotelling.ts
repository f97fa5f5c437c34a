import { z } from 'zod';
import type { VectorDetectorFactory } from '../vector-detector.js';
import {
  baselineParamsShape,
  shrunkEigenvalue,
  standardise,
  type BaselineFit,
} from './baseline.js';
import {
  BaselineDetector,
  baselineDetectorFactory,
  type BaselineDetectorState,
} from './baseline-detector.js';
import { FTail } from './log-tails.js';

/**
 * Online Hotelling T²: the squared Mahalanobis distance zᵀ R⁻¹ z of a device's standardised
 * metrics from the baseline, which sees a broken relation between metrics that each stay in
 * range. Score: its exact small-sample F p-value, `p_value` at 0.5; explanation: each metric's
 * conditional contribution. The statistics and why: docs/multivariate.md, "hotelling".
 */
export const HOTELLING_KIND = 'hotelling';

export const hotellingParamsSchema = z.strictObject(baselineParamsShape);
export type HotellingParams = z.infer<typeof hotellingParamsSchema>;

/** What a fit turns into for scoring: derived, never stored (rebuilt the same way on restore). */
interface Model {
  readonly fit: BaselineFit;
  /** 1 / shrunk eigenvalue. */
  readonly inverse: Float64Array;
  /** Diagonal of R⁻¹. */
  readonly precisionDiagonal: Float64Array;
  /** T² → F statistic. */
  readonly toF: number;
  readonly tail: FTail;
}

function buildModel(fit: BaselineFit, shrinkage: number): Model {
  const d = fit.values.length;
  const inverse = fit.values.map((v) => 1 / shrunkEigenvalue(v, shrinkage));
  const precisionDiagonal = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < d; i++)
      s += (fit.vectors[j * d + i] as number) ** 2 * (inverse[i] as number);
    precisionDiagonal[j] = s;
  }
  const n = Math.max(fit.count, d + 2);
  return {
    fit,
    inverse,
    precisionDiagonal,
    toF: (n * (n - d)) / (d * (n + 1) * (n - 1)),
    tail: new FTail(d, n - d),
  };
}

export class HotellingDetector extends BaselineDetector<HotellingParams, Model> {
  readonly kind = HOTELLING_KIND;
  /** The last scored vector, standardised and rotated (t = Vᵀz), for `contributions`. */
  private readonly t: Float64Array;
  private readonly z: Float64Array;

  constructor(params: HotellingParams, dimensions: number, state?: BaselineDetectorState) {
    super(params, dimensions, state, (fit, p) => buildModel(fit, p.shrinkage));
    this.z = new Float64Array(dimensions);
    this.t = new Float64Array(dimensions);
  }

  protected statisticDecades(model: Model, values: Float64Array, out: Float64Array): void {
    const d = this.dimensions;
    const { vectors } = model.fit;
    standardise(model.fit, values, this.z);
    let t2 = 0;
    for (let i = 0; i < d; i++) {
      let ti = 0;
      for (let j = 0; j < d; j++) ti += (vectors[j * d + i] as number) * (this.z[j] as number);
      this.t[i] = ti;
      t2 += ti * ti * (model.inverse[i] as number);
    }
    out[0] = -model.tail.logTail(t2 * model.toF) / Math.LN10;
  }

  protected explain(model: Model, out: Float64Array): void {
    const d = this.dimensions;
    const { vectors } = model.fit;
    // (R⁻¹z)_j = Σ_i V_ji t_i / λ_i; scaled by its largest entry so squares cannot overflow.
    let big = 0;
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) {
        s += (vectors[j * d + i] as number) * (this.t[i] as number) * (model.inverse[i] as number);
      }
      out[j] = s;
      big = Math.max(big, Math.abs(s));
    }
    for (let j = 0; j < d; j++) {
      const r = big > 0 ? (out[j] as number) / big : 0;
      out[j] = (r * r) / (model.precisionDiagonal[j] as number);
    }
  }
}

export const hotellingFactory: VectorDetectorFactory<HotellingParams> = baselineDetectorFactory(
  HOTELLING_KIND,
  'Hotelling T² on the metrics standardised by a trained baseline; F-distribution p-value (1e-4 → 0.5)',
  hotellingParamsSchema,
  (params, dimensions, state) => new HotellingDetector(params, dimensions, state),
);
