/**
 * Mean and variance of a multiset that values can enter and leave (Welford's recurrences).
 * The building block of every sliding-window statistic here: adding and removing are O(1) and far
 * more stable than keeping raw sums of x and x².
 */
export interface WelfordState {
  readonly count: number;
  readonly mean: number;
  /** Sum of squared deviations from the mean. */
  readonly m2: number;
}

export class Welford {
  private n = 0;
  private mu = 0;
  private sq = 0;

  static fromState(state: WelfordState): Welford {
    const w = new Welford();
    w.n = state.count;
    w.mu = state.mean;
    w.sq = state.m2;
    return w;
  }

  state(): WelfordState {
    return { count: this.n, mean: this.mu, m2: this.sq };
  }

  get count(): number {
    return this.n;
  }

  get mean(): number {
    return this.mu;
  }

  /** Population variance (divides by n); 0 when empty. */
  get variance(): number {
    return this.n > 0 && this.sq > 0 ? this.sq / this.n : 0;
  }

  /** Sample variance (divides by n - 1); 0 below two values. */
  get sampleVariance(): number {
    return this.n > 1 && this.sq > 0 ? this.sq / (this.n - 1) : 0;
  }

  get std(): number {
    return Math.sqrt(this.variance);
  }

  get sampleStd(): number {
    return Math.sqrt(this.sampleVariance);
  }

  add(x: number): void {
    this.n++;
    const d = x - this.mu;
    this.mu += d / this.n;
    this.sq += d * (x - this.mu);
  }

  /** Remove a value that was added before; the caller guarantees it is present. */
  remove(x: number): void {
    if (this.n <= 1) {
      this.reset();
      return;
    }
    const d = x - this.mu;
    this.n--;
    this.mu -= d / this.n;
    this.sq -= d * (x - this.mu);
    // Cancellation can leave a tiny negative residue; the variance getters clamp it.
  }

  reset(): void {
    this.n = 0;
    this.mu = 0;
    this.sq = 0;
  }

  /** Replace the accumulated state with the exact two-pass result over `values[from, to)`. */
  recompute(values: ArrayLike<number>, from = 0, to = values.length): void {
    const n = to - from;
    if (n <= 0) {
      this.reset();
      return;
    }
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i] as number;
    const mean = sum / n;
    let sq = 0;
    for (let i = from; i < to; i++) {
      const d = (values[i] as number) - mean;
      sq += d * d;
    }
    this.n = n;
    this.mu = mean;
    this.sq = sq;
  }
}
