/**
 * Tail probability of a stream by peaks over threshold: keep the K largest values seen so far;
 * the threshold u is the smallest of them and the excesses over u are modelled as exponential
 * with mean beta = mean(top K) - u (the maximum-likelihood fit). For f > u:
 *
 *   P(F >= f) ~= (K / n) * exp(-(f - u) / beta)
 *
 * `surprise(f)` returns -log10 of that probability, 0 when f is not in the tail or when fewer
 * than K values have been seen. Memory and work are O(K) and O(log K) per value (a min-heap).
 */
export class PeaksOverThreshold {
  /**
   * Where the tail lives: `data[base]` the heap's size, `data[base + 1]` its running sum,
   * `data[base + 2]` the values seen, then `tailSize` heap slots. The array may be shared with
   * other parts of one detector (one buffer per series instead of one per part: see
   * docs/detectors.md, "Memory per series").
   */
  private readonly data: Float64Array;
  private readonly base: number;
  private readonly heap0: number;

  /** Float64 slots one tail takes in a shared store. */
  static slots(tailSize: number): number {
    return tailSize + 3;
  }

  /**
   * @param minScale floor under the fitted excess scale beta: 0 for continuous values (a tail of
   *   identical values then makes anything above it extremely surprising); 1 for counts, whose
   *   excesses cannot meaningfully be smaller than one.
   * @param store, offset: keep the tail in `store` from `offset` (`slots(tailSize)` entries,
   *   zero-filled) instead of an array of its own.
   */
  constructor(
    readonly tailSize: number,
    state?: PeaksOverThresholdState,
    readonly minScale = 0,
    store?: Float64Array,
    offset = 0,
  ) {
    this.data = store ?? new Float64Array(PeaksOverThreshold.slots(tailSize));
    this.base = store ? offset : 0;
    this.heap0 = this.base + 3;
    if (state) {
      const n = Math.min(state.heap.length, tailSize);
      for (let i = 0; i < n; i++) this.data[this.heap0 + i] = state.heap[i]!;
      this.data[this.base] = n;
      this.data[this.base + 1] = state.sum;
      this.data[this.base + 2] = state.seen;
    }
  }

  /** Values added so far. */
  get count(): number {
    return this.data[this.base + 2]!;
  }

  /**
   * -log10 P(F >= f) under the fitted tail; 0 outside the tail or before K values.
   * @param scaleFloor lower bound for beta besides `minScale`, e.g. the data's resolution (the
   *   smallest step seen): an excess smaller than one step of the sensor is not evidence.
   * @param minCount when at least this many of the K largest values are >= f, the estimate is
   *   capped at the observed frequency log10(n / m): a value is never rarer than it has been.
   *   0 turns the cap off.
   */
  surprise(f: number, scaleFloor = 0, minCount = 0): number {
    const k = this.tailSize;
    const data = this.data;
    const base = this.base;
    if (data[base]! < k) return 0;
    const h0 = this.heap0;
    const u = data[h0]!;
    if (!(f > u)) return 0;
    const seen = data[base + 2]!;
    // The last floor keeps a tail of identical values (a flat series) from dividing by zero while
    // still treating anything above it as extremely surprising.
    const beta = Math.max(
      data[base + 1]! / k - u,
      this.minScale,
      scaleFloor,
      1e-12 + 1e-9 * Math.abs(u),
    );
    let surprise = Math.log10(seen / k) + (f - u) / (beta * Math.LN10);
    if (minCount > 0) {
      let atLeast = 0;
      for (let i = h0; i < h0 + k; i++) if (data[i]! >= f) atLeast++;
      if (atLeast >= minCount) surprise = Math.min(surprise, Math.log10(seen / atLeast));
    }
    return surprise;
  }

  /**
   * The value at which `surprise(f, scaleFloor)` (without the frequency cap) reaches `log10p`,
   * or null before the tail is fitted: the edge of the normal band for explanations.
   */
  edge(log10p: number, scaleFloor = 0): number | null {
    const k = this.tailSize;
    const data = this.data;
    const base = this.base;
    if (data[base]! < k) return null;
    const u = data[this.heap0]!;
    const beta = Math.max(
      data[base + 1]! / k - u,
      this.minScale,
      scaleFloor,
      1e-12 + 1e-9 * Math.abs(u),
    );
    return Math.max(u, u + beta * Math.LN10 * (log10p - Math.log10(data[base + 2]! / k)));
  }

  add(f: number): void {
    const data = this.data;
    const base = this.base;
    const h0 = this.heap0;
    data[base + 2] = data[base + 2]! + 1;
    const size = data[base]!;
    if (size < this.tailSize) {
      let i = size;
      data[base] = size + 1;
      data[h0 + i] = f;
      data[base + 1] = data[base + 1]! + f;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (data[h0 + parent]! <= data[h0 + i]!) break;
        const t = data[h0 + parent]!;
        data[h0 + parent] = data[h0 + i]!;
        data[h0 + i] = t;
        i = parent;
      }
      return;
    }
    const u = data[h0]!;
    if (!(f > u)) return;
    data[base + 1] = data[base + 1]! + (f - u);
    data[h0] = f;
    this.siftDown();
  }

  state(): PeaksOverThresholdState {
    const data = this.data;
    const size = data[this.base]!;
    return {
      heap: Array.from(data.subarray(this.heap0, this.heap0 + size)),
      sum: data[this.base + 1]!,
      seen: data[this.base + 2]!,
    };
  }

  private siftDown(): void {
    const data = this.data;
    const h0 = this.heap0;
    const n = data[this.base]!;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && data[h0 + left]! < data[h0 + smallest]!) smallest = left;
      if (right < n && data[h0 + right]! < data[h0 + smallest]!) smallest = right;
      if (smallest === i) return;
      const t = data[h0 + smallest]!;
      data[h0 + smallest] = data[h0 + i]!;
      data[h0 + i] = t;
      i = smallest;
    }
  }
}

export interface PeaksOverThresholdState {
  /** The heap array as stored (a valid min-heap), at most `tailSize` values. */
  readonly heap: number[];
  /** Running sum of the heap, kept as accumulated so a restore continues bit for bit. */
  readonly sum: number;
  readonly seen: number;
}
