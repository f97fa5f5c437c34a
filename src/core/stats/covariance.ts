/**
 * Streaming mean and covariance of fixed-length vectors: the baseline of the multivariate
 * detectors. Matrices are d×d, row-major, kept in Float64Arrays and snapshotted as plain arrays.
 *
 * Two estimators:
 * - `WelfordCovariance`: equal weights over everything added (Welford's recurrences, with Chan's
 *   formula to merge two of them), exact up to rounding; sample or population covariance.
 * - `EwCovariance`: exponentially weighted, each new vector weighted `alpha` (memory about
 *   1/alpha vectors), with an optional equal-weight start, or any weight per update. It also
 *   tracks the sum of squared normalised weights, which gives the effective sample size and the
 *   unbiased (reliability-weighted) covariance — with weights 1/n it is the plain cumulative
 *   estimate, so one object can learn a training period with equal weights and forget afterwards.
 */

import { VigilError } from '../../errors.js';

export interface WelfordCovarianceState {
  readonly dimensions: number;
  readonly count: number;
  readonly mean: number[];
  /** Sum of outer products of deviations from the mean (row-major d×d). */
  readonly m2: number[];
}

function checkDimensions(dimensions: number): void {
  if (!(Number.isInteger(dimensions) && dimensions >= 1)) {
    throw new RangeError(`covariance: dimensions must be a positive integer, got ${dimensions}`);
  }
}

function fromArray(what: string, values: readonly number[], length: number): Float64Array {
  if (values.length !== length) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `covariance state: ${what} has ${values.length} entries, expected ${length}`,
    );
  }
  return Float64Array.from(values);
}

export class WelfordCovariance {
  readonly dimensions: number;
  private n = 0;
  private readonly mu: Float64Array;
  private readonly m2: Float64Array;
  private readonly delta: Float64Array;

  constructor(dimensions: number, state?: WelfordCovarianceState) {
    checkDimensions(dimensions);
    this.dimensions = dimensions;
    this.delta = new Float64Array(dimensions);
    if (state) {
      if (state.dimensions !== dimensions) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          `covariance state has ${state.dimensions} dimensions, not ${dimensions}`,
        );
      }
      this.n = state.count;
      this.mu = fromArray('mean', state.mean, dimensions);
      this.m2 = fromArray('m2', state.m2, dimensions * dimensions);
    } else {
      this.mu = new Float64Array(dimensions);
      this.m2 = new Float64Array(dimensions * dimensions);
    }
  }

  state(): WelfordCovarianceState {
    return {
      dimensions: this.dimensions,
      count: this.n,
      mean: Array.from(this.mu),
      m2: Array.from(this.m2),
    };
  }

  get count(): number {
    return this.n;
  }

  /** The mean (a live view: copy it to keep it). */
  get mean(): Float64Array {
    return this.mu;
  }

  add(x: ArrayLike<number>): void {
    const d = this.dimensions;
    const n = ++this.n;
    for (let i = 0; i < d; i++) {
      const delta = (x[i] as number) - (this.mu[i] as number);
      this.delta[i] = delta;
      this.mu[i] = (this.mu[i] as number) + delta / n;
    }
    // m2 += ((n-1)/n)·δδᵀ: the symmetric form of δ(x - mean_new)ᵀ, so m2 stays exactly symmetric.
    const f = (n - 1) / n;
    for (let i = 0; i < d; i++) {
      const di = f * (this.delta[i] as number);
      for (let j = i; j < d; j++) {
        const v = (this.m2[i * d + j] as number) + di * (this.delta[j] as number);
        this.m2[i * d + j] = v;
        this.m2[j * d + i] = v;
      }
    }
  }

  /** Fold another estimator's vectors into this one (Chan et al.'s pairwise formula). */
  merge(other: WelfordCovariance): void {
    if (other.dimensions !== this.dimensions) {
      throw new RangeError(`cannot merge ${other.dimensions} dimensions into ${this.dimensions}`);
    }
    const d = this.dimensions;
    const na = this.n;
    const nb = other.n;
    if (nb === 0) return;
    const n = na + nb;
    for (let i = 0; i < d; i++) this.delta[i] = (other.mu[i] as number) - (this.mu[i] as number);
    const f = (na * nb) / n;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const k = i * d + j;
        this.m2[k] =
          (this.m2[k] as number) +
          (other.m2[k] as number) +
          f * (this.delta[i] as number) * (this.delta[j] as number);
      }
      this.mu[i] = (this.mu[i] as number) + ((this.delta[i] as number) * nb) / n;
    }
    this.n = n;
  }

  /**
   * The covariance into `out` (d×d): sample (divides by n - 1) unless `population`; all zeros
   * below two vectors (one for the population form).
   */
  covariance(out: Float64Array, population = false): Float64Array {
    const divisor = population ? this.n : this.n - 1;
    for (let k = 0; k < this.m2.length; k++) {
      out[k] = divisor > 0 ? (this.m2[k] as number) / divisor : 0;
    }
    return out;
  }
}

export interface EwCovarianceState {
  readonly dimensions: number;
  readonly count: number;
  /** Σ of the squared normalised weights: 1 / the effective sample size (0 when empty). */
  readonly weightSquares: number;
  readonly mean: number[];
  /** Weighted population covariance (row-major d×d). */
  readonly covariance: number[];
}

export interface EwCovarianceOptions {
  readonly dimensions: number;
  /** Weight of the newest vector in `update`, in (0, 1]. */
  readonly alpha: number;
  /** Equal weights (the cumulative estimate) until 1/alpha vectors, as in `EwMeanVar`. */
  readonly equalWeightStart?: boolean;
}

export class EwCovariance {
  readonly dimensions: number;
  readonly alpha: number;
  readonly equalWeightStart: boolean;
  private n = 0;
  private sumSq = 0;
  private readonly mu: Float64Array;
  private readonly cov: Float64Array;
  private readonly delta: Float64Array;

  constructor(options: EwCovarianceOptions, state?: EwCovarianceState) {
    checkDimensions(options.dimensions);
    if (!(options.alpha > 0 && options.alpha <= 1)) {
      throw new RangeError(`EwCovariance: alpha must be in (0, 1], got ${options.alpha}`);
    }
    const d = options.dimensions;
    this.dimensions = d;
    this.alpha = options.alpha;
    this.equalWeightStart = options.equalWeightStart ?? false;
    this.delta = new Float64Array(d);
    if (state) {
      if (state.dimensions !== d) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          `covariance state has ${state.dimensions} dimensions, not ${d}`,
        );
      }
      this.n = state.count;
      this.sumSq = state.weightSquares;
      this.mu = fromArray('mean', state.mean, d);
      this.cov = fromArray('covariance', state.covariance, d * d);
    } else {
      this.mu = new Float64Array(d);
      this.cov = new Float64Array(d * d);
    }
  }

  state(): EwCovarianceState {
    return {
      dimensions: this.dimensions,
      count: this.n,
      weightSquares: this.sumSq,
      mean: Array.from(this.mu),
      covariance: Array.from(this.cov),
    };
  }

  /** Vectors folded in so far. */
  get count(): number {
    return this.n;
  }

  /** 1 / Σw²: n under equal weights, (2 - alpha) / alpha in the exponential steady state. */
  get effectiveCount(): number {
    return this.sumSq > 0 ? 1 / this.sumSq : 0;
  }

  /** The mean (a live view: copy it to keep it). */
  get mean(): Float64Array {
    return this.mu;
  }

  /** Fold in `x` with weight `alpha` (or 1/n during the equal-weight start). */
  update(x: ArrayLike<number>): void {
    const n = this.n + 1;
    this.updateWeighted(x, this.equalWeightStart && n * this.alpha < 1 ? 1 / n : this.alpha);
  }

  /**
   * Fold in `x` with normalised weight `a` in (0, 1]: every earlier weight shrinks by (1 - a).
   * `a = 1 / count` after the update gives the cumulative mean and population covariance. The
   * first vector always gets weight 1: there is no earlier mass to share with.
   */
  updateWeighted(x: ArrayLike<number>, weight: number): void {
    const d = this.dimensions;
    const a = this.n === 0 ? 1 : weight;
    this.n++;
    for (let i = 0; i < d; i++) {
      const delta = (x[i] as number) - (this.mu[i] as number);
      this.delta[i] = delta;
      this.mu[i] = (this.mu[i] as number) + a * delta;
    }
    // C' = (1 - a)(C + a·δδᵀ), the vector form of EwMeanVar's recurrence; symmetric by construction.
    const b = 1 - a;
    for (let i = 0; i < d; i++) {
      const di = a * (this.delta[i] as number);
      for (let j = i; j < d; j++) {
        const v = b * ((this.cov[i * d + j] as number) + di * (this.delta[j] as number));
        this.cov[i * d + j] = v;
        this.cov[j * d + i] = v;
      }
    }
    this.sumSq = b * b * this.sumSq + a * a;
  }

  /**
   * The covariance into `out` (d×d): the weighted population covariance, or with `unbiased` the
   * reliability-weighted estimate C / (1 - Σw²) — the sample covariance under equal weights.
   * All zeros while the estimate is undefined (fewer than two vectors).
   */
  covariance(out: Float64Array, unbiased = false): Float64Array {
    const rest = 1 - this.sumSq;
    const f = unbiased ? (rest > 0 && this.n > 1 ? 1 / rest : 0) : 1;
    for (let k = 0; k < this.cov.length; k++) out[k] = f * (this.cov[k] as number);
    return out;
  }
}
