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
  /**
   * After a pipeline's training period: the quantile of the training period's held-out scores
   * put at the 0.5 boundary (when stricter than `p_value`), times `calibration_margin`.
   */
  calibration_quantile: z.number().gt(0.5).max(1).default(0.995),
  calibration_margin: z.number().min(1).max(10).default(1),
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
  /** The pipeline's training period has ended (`close`); absent in older snapshots. */
  readonly closed?: boolean;
  /** Training vectors kept for the calibration, flattened, and the stride they were kept at. */
  readonly kept?: number[];
  readonly stride?: number;
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
  closed: z.boolean().optional(),
  kept: numbers.optional(),
  stride: z.number().int().positive().optional(),
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

/** Training vectors kept for the calibration at most (every `stride`-th, the stride doubling). */
export const KEPT_VECTORS = 2048;

/** Fewest vectors a baseline of d metrics can be fitted on (the F law needs n > d + 1). */
export function minimumVectors(dimensions: number): number {
  return dimensions + 2;
}

export class Baseline {
  readonly dimensions: number;
  /** Vectors in the detector's own training period: `training_points`, but at least d + 2. */
  readonly trainingPoints: number;
  private readonly params: Readonly<BaselineParams>;
  private readonly covariance: EwCovariance;
  private readonly scratch: Float64Array;
  private sinceRefit = 0;
  private current: BaselineFit | null = null;
  /** Closed by the pipeline's training period: `learn` no longer trains. */
  private closed = false;
  /** Every `stride`-th trained vector, flattened, while the training period is open. */
  private kept: number[] = [];
  private stride = 1;

  constructor(dimensions: number, params: Readonly<BaselineParams>, state?: BaselineState) {
    this.dimensions = dimensions;
    this.params = params;
    this.trainingPoints = Math.max(params.training_points, minimumVectors(dimensions));
    const options = { dimensions, alpha: params.alpha, equalWeightStart: true };
    this.covariance = new EwCovariance(options, state?.covariance);
    this.scratch = new Float64Array(dimensions * dimensions);
    if (state) {
      this.sinceRefit = state.sinceRefit;
      this.current = state.fit ? fitFromState(state.fit, dimensions) : null;
      this.closed = state.closed ?? false;
      this.kept = state.kept ? [...state.kept] : [];
      this.stride = state.stride ?? 1;
      if (this.kept.length % dimensions !== 0) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          `baseline: ${this.kept.length} kept values are not whole vectors of ${dimensions}`,
        );
      }
    }
  }

  /** True once the pipeline's training period has been closed. */
  get isClosed(): boolean {
    return this.closed;
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
  train(x: Float64Array, keep = true): boolean {
    const n = this.covariance.count + 1;
    // Kept for a calibration only when a pipeline's training period trains (it will close).
    if (keep && !this.closed) this.keep(x, n - 1);
    this.covariance.updateWeighted(x, 1 / n);
    return this.afterUpdate(n);
  }

  /** Learn `x` as normal: training while it lasts, then as `adapt` says. True when refitted. */
  learn(x: Float64Array): boolean {
    if (!this.closed && this.covariance.count < this.trainingPoints) return this.train(x, false);
    if (this.params.adapt === 'frozen') return false;
    this.covariance.update(x);
    return this.afterUpdate(this.covariance.count);
  }

  /**
   * End the training period now, whatever `training_points` says: fit on every vector trained so
   * far. Returns the kept training vectors (for the calibration), which the baseline then drops.
   * Throws when fewer vectors than the minimum were trained.
   */
  close(kind: string): Float64Array[] {
    const d = this.dimensions;
    const n = this.covariance.count;
    if (n < minimumVectors(d)) {
      throw new VigilError(
        'VIGIL_ERR_STRATEGY_INVALID',
        `detector '${kind}' on ${d} metrics needs a training period of at least ` +
          `${minimumVectors(d)} usable vectors (d + 2); it got ${n}`,
      );
    }
    this.closed = true;
    this.sinceRefit = 0;
    this.refit();
    const rows: Float64Array[] = [];
    for (let k = 0; k + d <= this.kept.length; k += d) {
      rows.push(Float64Array.from(this.kept.slice(k, k + d)));
    }
    this.kept = [];
    this.stride = 1;
    return rows;
  }

  /** Keep every `stride`-th vector; when full, drop every other one and double the stride. */
  private keep(x: Float64Array, index: number): void {
    if (index % this.stride !== 0) return;
    const d = this.dimensions;
    if (this.kept.length >= KEPT_VECTORS * d) {
      const thinned: number[] = [];
      for (let k = 0; k < this.kept.length; k += 2 * d) {
        thinned.push(...this.kept.slice(k, k + d));
      }
      this.kept = thinned;
      this.stride *= 2;
      if (index % this.stride !== 0) return;
    }
    for (let i = 0; i < d; i++) this.kept.push(x[i] as number);
  }

  private afterUpdate(n: number): boolean {
    if (this.closed) {
      if (this.params.adapt === 'frozen') return false;
    } else if (n < this.trainingPoints) return false;
    this.sinceRefit++;
    if ((this.closed || n > this.trainingPoints) && this.sinceRefit < this.params.refit_every)
      return false;
    this.sinceRefit = 0;
    return this.refit();
  }

  private refit(): boolean {
    const cov = this.covariance.covariance(this.scratch, true);
    const fit = fitOf(this.covariance.effectiveCount, this.covariance.mean, cov, this.params);
    // Only null near the magnitude guard; keep the last good fit rather than fail.
    if (fit === null) return false;
    this.current = fit;
    return true;
  }

  state(): BaselineState {
    const fit = this.current;
    return {
      covariance: this.covariance.state(),
      sinceRefit: this.sinceRefit,
      ...(this.closed ? { closed: true } : {}),
      ...(this.kept.length > 0 ? { kept: [...this.kept], stride: this.stride } : {}),
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

/**
 * The fit of a mean and an unbiased covariance `cov` (overwritten: it becomes the correlation)
 * estimated from `count` vectors; null when the covariance is not finite.
 */
export function fitOf(
  count: number,
  mean: Float64Array,
  cov: Float64Array,
  params: Readonly<BaselineParams>,
): BaselineFit | null {
  const d = mean.length;
  for (let k = 0; k < cov.length; k++) if (!Number.isFinite(cov[k])) return null;
  const scale = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    scale[i] = Math.max(Math.sqrt(Math.max(cov[i * d + i] as number, 0)), params.min_std);
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      cov[i * d + j] = (cov[i * d + j] as number) / ((scale[i] as number) * (scale[j] as number));
    }
  }
  const { values, vectors } = symmetricEigen(cov, d);
  return { count, mean: Float64Array.from(mean), scale, values, vectors };
}

/** The fit of a batch of vectors (equal weights), or null when it cannot be made. */
export function batchFit(
  rows: readonly Float64Array[],
  params: Readonly<BaselineParams>,
): BaselineFit | null {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n < minimumVectors(d)) return null;
  const mean = new Float64Array(d);
  for (const row of rows)
    for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) + (row[i] as number) / n;
  const cov = new Float64Array(d * d);
  for (const row of rows) {
    for (let i = 0; i < d; i++) {
      const a = (row[i] as number) - (mean[i] as number);
      for (let j = 0; j < d; j++)
        cov[i * d + j] =
          (cov[i * d + j] as number) + a * ((row[j] as number) - (mean[j] as number));
    }
  }
  for (let k = 0; k < cov.length; k++) cov[k] = (cov[k] as number) / (n - 1);
  return fitOf(n, mean, cov, params);
}
