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
  /** Diagonal of R⁻¹ (shrunk). */
  private readonly precisionDiagonal: Float64Array;
  /** The standardised metrics of the last transformed vector. */
  readonly z: Float64Array;

  private constructor(private readonly fit: BaselineFit) {
    const d = fit.mean.length;
    this.inverseRoot = fit.values.map(
      (v) => 1 / Math.sqrt(shrunkEigenvalue(v, FIT_PARAMS.shrinkage)),
    );
    this.z = new Float64Array(d);
    this.precisionDiagonal = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let p = 0;
      for (let i = 0; i < d; i++) {
        p += ((fit.vectors[j * d + i] as number) * (this.inverseRoot[i] as number)) ** 2;
      }
      this.precisionDiagonal[j] = p;
    }
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
   * Blame per axis (`axes`) back onto the metrics of the last transformed vector `w`, into
   * `out`: Hotelling's conditional contributions (R⁻¹z)_j² / (R⁻¹)_jj restricted to the axes that
   * isolated it, each weighted by its share of the blame — metric j's squared residual from what
   * the other metrics imply, along those axes. A stuck metric stays in range and is blamed for
   * breaking the relation, not the metrics that moved on as usual.
   */
  toMetrics(axes: Float64Array, w: Float64Array, out: Float64Array): void {
    const { vectors } = this.fit;
    const d = w.length;
    let top = 0;
    for (let i = 0; i < d; i++) top = Math.max(top, axes[i] as number);
    if (!(top > 0 && Number.isFinite(top))) {
      out.fill(0);
      return;
    }
    let big = 0;
    for (let i = 0; i < d; i++) big = Math.max(big, Math.abs(w[i] as number));
    for (let j = 0; j < d; j++) {
      let r = 0;
      for (let i = 0; i < d; i++) {
        const weight = (axes[i] as number) / top;
        // w scaled by its largest entry so the squares cannot overflow.
        r +=
          weight *
          (vectors[j * d + i] as number) *
          ((w[i] as number) / big) *
          (this.inverseRoot[i] as number);
      }
      out[j] = big > 0 ? (r * r) / (this.precisionDiagonal[j] as number) : 0;
    }
  }
}
