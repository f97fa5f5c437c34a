import { VigilError } from '../../../errors.js';
import { z } from 'zod';
import { EwCovariance, type EwCovarianceState } from '../../stats/covariance.js';
import { symmetricEigen } from '../../stats/symmetric-eigen.js';
import { finiteNumber } from '../snapshot-parts.js';

/**
 * The baseline both covariance detectors (Hotelling, PCA) stand on: a streaming mean and
 * covariance with a training period, and a *fit* — the eigen-decomposition of the correlation
 * matrix — refreshed every `refit_every` learned vectors. Scores are 0 until the first fit, which
 * happens when the training period ends, so no verdict ever comes from a half-learned baseline.
 *
 * Correlation, not covariance: device metrics come in unrelated units (A, bar, m³/h, °C), and the
 * statistics are then about how far each metric is from what the others imply, in its own σ.
 * The correlation is shrunk towards the identity (`shrinkage`) so a metric that never moved in
 * training, or two that moved in lock-step, cannot make the inverse blow up.
 */

export const ADAPT_MODES = ['frozen', 'ewma'] as const;

/** Params shared by the covariance detectors; each detector's schema spreads these. */
export const baselineParamsShape = {
  /** Vectors learned with equal weights before scoring starts (the training period). */
  training_points: z.number().int().min(2).max(100_000_000).default(1000),
  /**
   * After training: `frozen` keeps the baseline as trained (a slow drift keeps growing until it
   * is caught), `ewma` keeps learning with weight `alpha` (follows slow legitimate change, and
   * with it a slow enough drift).
   */
  adapt: z.enum(ADAPT_MODES).default('frozen'),
  /** Weight of each new vector under `ewma`; 0.001 remembers about the last 1000 vectors. */
  alpha: z.number().gt(0).max(0.5).default(0.001),
  /** Learned vectors between refits of the fit (an O(d³) eigen-decomposition). */
  refit_every: z.number().int().min(1).max(1_000_000).default(32),
  /** Correlation shrinkage towards the identity: R' = (1 - s)·R + s·I. */
  shrinkage: z.number().min(0).lt(1).default(0.001),
  /** Floor under each metric's standard deviation (a metric stuck during training). */
  min_std: z.number().positive().default(1e-6),
  /** The p-value that scores 0.5; smaller p-values score higher. */
  p_value: z.number().gt(0).lt(0.5).default(1e-4),
};

export type BaselineParams = z.infer<z.ZodObject<typeof baselineParamsShape>>;

/** Smallest eigenvalue used (correlation units), whatever the shrinkage: keeps inverses finite. */
export const MIN_EIGENVALUE = 1e-9;

/**
 * Values with a magnitude beyond this are treated like non-finite ones (missing readings): their
 * squares would overflow the covariance. One comparison also rejects NaN and ±Infinity.
 */
const MAX_MAGNITUDE = 1e150;

/** True when every entry of `values` is a usable reading. */
export function isUsable(values: Float64Array, dimensions: number): boolean {
  if (values.length !== dimensions) {
    throw new RangeError(`expected a vector of ${dimensions} values, got ${values.length}`);
  }
  for (let i = 0; i < dimensions; i++) {
    if (!(Math.abs(values[i] as number) <= MAX_MAGNITUDE)) return false;
  }
  return true;
}

/** The fitted model the detectors score with. Immutable: a refit makes a new one. */
export interface BaselineFit {
  /** Effective number of vectors behind the estimate (n under equal weights). */
  readonly count: number;
  readonly mean: Float64Array;
  /** Each metric's standard deviation, floored at `min_std`. */
  readonly scale: Float64Array;
  /** Eigenvalues of the correlation matrix (before shrinkage), largest first. */
  readonly values: Float64Array;
  /** Row-major d×d, column i the eigenvector of values[i]. */
  readonly vectors: Float64Array;
}

export interface BaselineFitState {
  readonly count: number;
  readonly mean: number[];
  readonly scale: number[];
  readonly values: number[];
  readonly vectors: number[];
}

export interface BaselineState {
  readonly covariance: EwCovarianceState;
  readonly sinceRefit: number;
  readonly fit: BaselineFitState | null;
}

const numbers = z.array(finiteNumber);

export const baselineStateSchema: z.ZodType<BaselineState> = z.object({
  covariance: z.object({
    dimensions: z.number().int().positive(),
    count: z.number().int().nonnegative(),
    weightSquares: finiteNumber.refine((v) => v >= 0 && v <= 1, 'must be in [0, 1]'),
    mean: numbers,
    covariance: numbers,
  }),
  sinceRefit: z.number().int().nonnegative(),
  fit: z
    .object({
      count: finiteNumber.refine((v) => v > 0, 'must be > 0'),
      mean: numbers,
      scale: z.array(finiteNumber.refine((v) => v > 0, 'must be > 0')),
      values: numbers,
      vectors: numbers,
    })
    .nullable(),
});

function fitFromState(state: BaselineFitState, d: number): BaselineFit {
  const sized = (name: string, values: number[], length: number): Float64Array => {
    if (values.length !== length) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        `baseline fit: ${name} has ${values.length} entries, expected ${length}`,
      );
    }
    return Float64Array.from(values);
  };
  return {
    count: state.count,
    mean: sized('mean', state.mean, d),
    scale: sized('scale', state.scale, d),
    values: sized('values', state.values, d),
    vectors: sized('vectors', state.vectors, d * d),
  };
}

export class Baseline {
  readonly dimensions: number;
  /** Vectors in the training period: `training_points`, but at least d + 2 (F needs n > d + 1). */
  readonly trainingPoints: number;
  private readonly params: Readonly<BaselineParams>;
  private readonly covariance: EwCovariance;
  private readonly scratch: Float64Array;
  private sinceRefit = 0;
  private current: BaselineFit | null = null;

  constructor(dimensions: number, params: Readonly<BaselineParams>, state?: BaselineState) {
    this.dimensions = dimensions;
    this.params = params;
    this.trainingPoints = Math.max(params.training_points, dimensions + 2);
    const options = { dimensions, alpha: params.alpha, equalWeightStart: true };
    this.covariance = new EwCovariance(options, state?.covariance);
    this.scratch = new Float64Array(dimensions * dimensions);
    if (state) {
      this.sinceRefit = state.sinceRefit;
      this.current = state.fit ? fitFromState(state.fit, dimensions) : null;
    }
  }

  /** The model to score with, or null during the training period. */
  get fit(): BaselineFit | null {
    return this.current;
  }

  /** Vectors learned so far. */
  get count(): number {
    return this.covariance.count;
  }

  /** Learn `x` into the baseline with equal weight. True when the fit changed. */
  train(x: Float64Array): boolean {
    const n = this.covariance.count + 1;
    this.covariance.updateWeighted(x, 1 / n);
    return this.afterUpdate(n);
  }

  /** Learn `x` as normal: training while it lasts, then as `adapt` says. True when refitted. */
  learn(x: Float64Array): boolean {
    if (this.covariance.count < this.trainingPoints) return this.train(x);
    if (this.params.adapt === 'frozen') return false;
    this.covariance.update(x);
    return this.afterUpdate(this.covariance.count);
  }

  private afterUpdate(n: number): boolean {
    if (n < this.trainingPoints) return false;
    this.sinceRefit++;
    if (n > this.trainingPoints && this.sinceRefit < this.params.refit_every) return false;
    this.sinceRefit = 0;
    return this.refit();
  }

  private refit(): boolean {
    const d = this.dimensions;
    const cov = this.covariance.covariance(this.scratch, true);
    for (let k = 0; k < cov.length; k++) {
      // Only reachable near the magnitude guard; keep the last good fit rather than fail.
      if (!Number.isFinite(cov[k])) return false;
    }
    const scale = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      scale[i] = Math.max(Math.sqrt(Math.max(cov[i * d + i] as number, 0)), this.params.min_std);
    }
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        cov[i * d + j] = (cov[i * d + j] as number) / ((scale[i] as number) * (scale[j] as number));
      }
    }
    const { values, vectors } = symmetricEigen(cov, d);
    this.current = {
      count: this.covariance.effectiveCount,
      mean: Float64Array.from(this.covariance.mean),
      scale,
      values,
      vectors,
    };
    return true;
  }

  state(): BaselineState {
    const fit = this.current;
    return {
      covariance: this.covariance.state(),
      sinceRefit: this.sinceRefit,
      fit: fit && {
        count: fit.count,
        mean: Array.from(fit.mean),
        scale: Array.from(fit.scale),
        values: Array.from(fit.values),
        vectors: Array.from(fit.vectors),
      },
    };
  }
}

/** The shrunk, floored eigenvalue the statistics divide by. */
export function shrunkEigenvalue(value: number, shrinkage: number): number {
  return Math.max((1 - shrinkage) * value + shrinkage, MIN_EIGENVALUE);
}

/** z = (x - mean) / scale, written into `z`. */
export function standardise(fit: BaselineFit, x: Float64Array, z: Float64Array): void {
  for (let i = 0; i < z.length; i++) {
    z[i] = ((x[i] as number) - (fit.mean[i] as number)) / (fit.scale[i] as number);
  }
}

/** Normalise non-negative `out` to sum 1; all zeros stay zeros. */
export function normalise(out: Float64Array): void {
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i] as number;
  if (!(sum > 0 && Number.isFinite(sum))) {
    out.fill(0);
    return;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
}
