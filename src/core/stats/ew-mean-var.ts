/**
 * Exponentially weighted mean and variance: each new value gets weight `alpha`, so the memory is
 * about 1/alpha values. O(1) per value, three numbers of state.
 */
export interface EwMeanVarOptions {
  /** Weight of the newest value, in (0, 1]. */
  readonly alpha: number;
  /**
   * Use equal weights (a plain cumulative mean and population variance) until 1/alpha values have
   * been seen. Without this, the first value dominates the early mean and the early variance is
   * biased low, which makes a freshly started z-score over-react.
   */
  readonly equalWeightStart?: boolean;
}

export interface EwMeanVarState {
  readonly count: number;
  readonly mean: number;
  readonly variance: number;
}

export class EwMeanVar {
  readonly alpha: number;
  readonly equalWeightStart: boolean;
  private n = 0;
  private mu = 0;
  private v = 0;

  constructor(options: EwMeanVarOptions, state?: EwMeanVarState) {
    if (!(options.alpha > 0 && options.alpha <= 1)) {
      throw new RangeError(`EwMeanVar: alpha must be in (0, 1], got ${options.alpha}`);
    }
    this.alpha = options.alpha;
    this.equalWeightStart = options.equalWeightStart ?? false;
    if (state) {
      this.n = state.count;
      this.mu = state.mean;
      this.v = state.variance;
    }
  }

  state(): EwMeanVarState {
    return { count: this.n, mean: this.mu, variance: this.v };
  }

  get count(): number {
    return this.n;
  }

  get mean(): number {
    return this.mu;
  }

  get variance(): number {
    return this.v;
  }

  get std(): number {
    return Math.sqrt(this.v);
  }

  update(x: number): void {
    const n = ++this.n;
    if (n === 1) {
      this.mu = x;
      this.v = 0;
      return;
    }
    // With a = 1/n the same recurrence yields the cumulative mean and population variance.
    const a = this.equalWeightStart && n * this.alpha < 1 ? 1 / n : this.alpha;
    const d = x - this.mu;
    const inc = a * d;
    this.mu += inc;
    this.v = (1 - a) * (this.v + d * inc);
  }
}
