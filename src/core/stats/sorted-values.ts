/**
 * A multiset of numbers kept sorted in a growable Float64Array, for quantiles over a sliding
 * window whose membership the caller manages (insert on arrival, remove on eviction).
 * Insert/remove are a binary search plus one memmove (`copyWithin`), which for windows up to a
 * few thousand values beats pointer-based trees in JavaScript; `quantile` is O(1).
 */
export class SortedValues {
  private buf: Float64Array;
  private n = 0;

  constructor(initialCapacity = 16) {
    this.buf = new Float64Array(Math.max(1, initialCapacity));
  }

  static fromValues(values: ArrayLike<number>): SortedValues {
    const s = new SortedValues(values.length);
    s.buf.set(Array.from(values));
    s.n = values.length;
    s.buf.subarray(0, s.n).sort();
    return s;
  }

  get size(): number {
    return this.n;
  }

  /** Sorted copy of the contents. */
  toArray(): number[] {
    return Array.from(this.buf.subarray(0, this.n));
  }

  clear(): void {
    this.n = 0;
  }

  insert(x: number): void {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    const i = this.upperBound(x);
    this.buf.copyWithin(i + 1, i, this.n);
    this.buf[i] = x;
    this.n++;
  }

  /** Remove one copy of `x`; false when it is not present. */
  remove(x: number): boolean {
    const i = this.lowerBound(x);
    if (i >= this.n || this.buf[i] !== x) return false;
    this.buf.copyWithin(i, i + 1, this.n);
    this.n--;
    return true;
  }

  /**
   * The q-quantile (q in [0, 1]) with linear interpolation between order statistics, the
   * definition most tools use by default; NaN when empty.
   */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const pos = Math.min(1, Math.max(0, q)) * (this.n - 1);
    const lo = Math.floor(pos);
    const frac = pos - lo;
    const a = this.buf[lo] as number;
    return frac > 0 ? a + frac * ((this.buf[lo + 1] as number) - a) : a;
  }

  /** First index whose value is >= x. */
  private lowerBound(x: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.buf[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose value is > x (inserting there keeps equal values in arrival order). */
  private upperBound(x: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.buf[mid] as number) <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
