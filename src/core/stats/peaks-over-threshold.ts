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
  private readonly heap: Float64Array;
  private size = 0;
  private sum = 0;
  private seen = 0;

  /**
   * @param minScale floor under the fitted excess scale beta: 0 for continuous values (a tail of
   *   identical values then makes anything above it extremely surprising); 1 for counts, whose
   *   excesses cannot meaningfully be smaller than one.
   */
  constructor(
    readonly tailSize: number,
    state?: PeaksOverThresholdState,
    readonly minScale = 0,
  ) {
    this.heap = new Float64Array(tailSize);
    if (state) {
      this.heap.set(state.heap);
      this.size = state.heap.length;
      this.sum = state.sum;
      this.seen = state.seen;
    }
  }

  /** Values added so far. */
  get count(): number {
    return this.seen;
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
    if (this.size < k) return 0;
    const heap = this.heap;
    const u = heap[0]!;
    if (!(f > u)) return 0;
    // The last floor keeps a tail of identical values (a flat series) from dividing by zero while
    // still treating anything above it as extremely surprising.
    const beta = Math.max(this.sum / k - u, this.minScale, scaleFloor, 1e-12 + 1e-9 * Math.abs(u));
    let surprise = Math.log10(this.seen / k) + (f - u) / (beta * Math.LN10);
    if (minCount > 0) {
      let atLeast = 0;
      for (let i = 0; i < k; i++) if (heap[i]! >= f) atLeast++;
      if (atLeast >= minCount) surprise = Math.min(surprise, Math.log10(this.seen / atLeast));
    }
    return surprise;
  }

  /**
   * The value at which `surprise(f, scaleFloor)` (without the frequency cap) reaches `log10p`,
   * or null before the tail is fitted: the edge of the normal band for explanations.
   */
  edge(log10p: number, scaleFloor = 0): number | null {
    const k = this.tailSize;
    if (this.size < k) return null;
    const u = this.heap[0]!;
    const beta = Math.max(this.sum / k - u, this.minScale, scaleFloor, 1e-12 + 1e-9 * Math.abs(u));
    return Math.max(u, u + beta * Math.LN10 * (log10p - Math.log10(this.seen / k)));
  }

  add(f: number): void {
    this.seen++;
    const heap = this.heap;
    if (this.size < this.tailSize) {
      let i = this.size++;
      heap[i] = f;
      this.sum += f;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (heap[parent]! <= heap[i]!) break;
        const t = heap[parent]!;
        heap[parent] = heap[i]!;
        heap[i] = t;
        i = parent;
      }
      return;
    }
    if (!(f > heap[0]!)) return;
    this.sum += f - heap[0]!;
    heap[0] = f;
    this.siftDown();
  }

  state(): PeaksOverThresholdState {
    return { heap: Array.from(this.heap.subarray(0, this.size)), sum: this.sum, seen: this.seen };
  }

  private siftDown(): void {
    const heap = this.heap;
    const n = this.size;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && heap[left]! < heap[smallest]!) smallest = left;
      if (right < n && heap[right]! < heap[smallest]!) smallest = right;
      if (smallest === i) return;
      const t = heap[smallest]!;
      heap[smallest] = heap[i]!;
      heap[i] = t;
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
