import { z } from 'zod';
import { finiteNumber } from '../snapshot-parts.js';
import { baselineParamsShape, batchFit, shrunkEigenvalue, type BaselineFit } from './baseline.js';
import { VigilError } from '../../../errors.js';

/**
 * The coordinates the vector half-space trees split on: each metric standardised, rotated onto
 * the training correlation's principal axes and scaled to unit variance, w = Λ^-½ Vᵀ z. A broken
 * relation between metrics that each stay in range is then far out on a minor axis, where
 * axis-parallel half-spaces isolate it in a few splits. Fitted once on the training sample.
 */

const FIT_PARAMS = z.object(baselineParamsShape).parse({ shrinkage: 0.01 });

export interface WhiteningState {
  readonly count: number;
  readonly mean: number[];
  readonly scale: number[];
  readonly values: number[];
  readonly vectors: number[];
}

export const whiteningStateSchema: z.ZodType<WhiteningState> = z.object({
  count: finiteNumber,
  mean: z.array(finiteNumber),
  scale: z.array(finiteNumber.refine((v) => v > 0, 'must be > 0')),
  values: z.array(finiteNumber),
  vectors: z.array(finiteNumber),
});

export class Whitening {
  private readonly inverseRoot: Float64Array;
  /** The standardised metrics of the last transformed vector. */
  readonly z: Float64Array;

  private constructor(private readonly fit: BaselineFit) {
    const d = fit.mean.length;
    this.inverseRoot = fit.values.map(
      (v) => 1 / Math.sqrt(shrunkEigenvalue(v, FIT_PARAMS.shrinkage)),
    );
    this.z = new Float64Array(d);
  }

  /** The whitening of `rows`, or null when they are too few for a correlation. */
  static of(rows: readonly Float64Array[]): Whitening | null {
    const fit = batchFit(rows, FIT_PARAMS);
    return fit ? new Whitening(fit) : null;
  }

  static fromState(state: WhiteningState, d: number): Whitening {
    const sizes = [state.mean, state.scale, state.values].every((a) => a.length === d);
    if (!sizes || state.vectors.length !== d * d) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        `vector half-space trees: a whitening of the wrong size for ${d} metrics`,
      );
    }
    return new Whitening({
      count: state.count,
      mean: Float64Array.from(state.mean),
      scale: Float64Array.from(state.scale),
      values: Float64Array.from(state.values),
      vectors: Float64Array.from(state.vectors),
    });
  }

  state(): WhiteningState {
    const { count, mean, scale, values, vectors } = this.fit;
    return {
      count,
      mean: [...mean],
      scale: [...scale],
      values: [...values],
      vectors: [...vectors],
    };
  }

  /** w of `x` into `out`; leaves z in `this.z`. */
  transform(x: Float64Array, out: Float64Array): void {
    const { mean, scale, vectors } = this.fit;
    const d = mean.length;
    for (let j = 0; j < d; j++)
      this.z[j] = ((x[j] as number) - (mean[j] as number)) / (scale[j] as number);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (vectors[j * d + i] as number) * (this.z[j] as number);
      out[i] = s * (this.inverseRoot[i] as number);
    }
  }

  /**
   * Blame per axis (`axes`) back onto the metrics of the last transformed vector `w`: axis i's
   * blame split by each metric's push along it, max(0, V_ji z_j w_i), into `out`.
   */
  toMetrics(axes: Float64Array, w: Float64Array, out: Float64Array): void {
    const { vectors } = this.fit;
    const d = w.length;
    out.fill(0);
    for (let i = 0; i < d; i++) {
      const b = axes[i] as number;
      if (!(b > 0)) continue;
      let total = 0;
      for (let j = 0; j < d; j++) {
        total += Math.max(
          0,
          (vectors[j * d + i] as number) * (this.z[j] as number) * (w[i] as number),
        );
      }
      if (!(total > 0 && Number.isFinite(total))) continue;
      for (let j = 0; j < d; j++) {
        const push = Math.max(
          0,
          (vectors[j * d + i] as number) * (this.z[j] as number) * (w[i] as number),
        );
        out[j] = (out[j] as number) + (b * push) / total;
      }
    }
  }
}
