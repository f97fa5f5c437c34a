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
function definePeaksOverThreshold() {
  return class PeaksOverThreshold {
    /**
     * Where the tail lives: `data[base]` the heap's size, `data[base + 1]` its running sum,
     * `data[base + 2]` the values seen; the `tailSize` heap slots from `heap[heap0]`, in the same
     * array or in a float32 one (for tails of deviations, not of raw values: the sum then adds the
     * values as stored). The arrays may be shared with other parts of one detector (one buffer per
     * series instead of one per part: see docs/detectors.md, "Memory per series").
     *
     * The work is done by the static functions below on (data, base, heap, heap0): a detector
     * with many tails calls them on its own store by offset and keeps no tail objects at all.
     */
    private readonly data: Float64Array;
    private readonly base: number;
    private readonly heap: Float64Array | Float32Array;
    private readonly heap0: number;

    /** Float64 slots one tail takes in a shared store (scalars and heap). */
    static slots(tailSize: number): number {
      return tailSize + 3;
    }

    /** Float64 slots of a tail's scalars when its heap is stored elsewhere. */
    static readonly SCALARS = 3;

    /**
     * @param minScale floor under the fitted excess scale beta: 0 for continuous values (a tail of
     *   identical values then makes anything above it extremely surprising); 1 for counts, whose
     *   excesses cannot meaningfully be smaller than one.
     * @param store, offset: keep the tail in `store` from `offset` (`slots(tailSize)` entries,
     *   zero-filled) instead of an array of its own...
     * @param heap, heapOffset: ...or only its scalars there (`SCALARS` entries) and the heap here.
     */
    constructor(
      readonly tailSize: number,
      state?: PeaksOverThresholdState,
      readonly minScale = 0,
      store?: Float64Array,
      offset = 0,
      heap?: Float32Array,
      heapOffset = 0,
    ) {
      this.data = store ?? new Float64Array(PeaksOverThreshold.slots(tailSize));
      this.base = store ? offset : 0;
      this.heap = heap ?? this.data;
      this.heap0 = heap ? heapOffset : this.base + 3;
      if (state) {
        PeaksOverThreshold.load(this.data, this.base, this.heap, this.heap0, tailSize, state);
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
      return PeaksOverThreshold.surpriseOf(
        this.data,
        this.base,
        this.heap,
        this.heap0,
        this.tailSize,
        this.minScale,
        f,
        scaleFloor,
        minCount,
      );
    }

    /**
     * The value at which `surprise(f, scaleFloor)` (without the frequency cap) reaches `log10p`,
     * or null before the tail is fitted: the edge of the normal band for explanations.
     */
    edge(log10p: number, scaleFloor = 0): number | null {
      return PeaksOverThreshold.edgeOf(
        this.data,
        this.base,
        this.heap,
        this.heap0,
        this.tailSize,
        this.minScale,
        log10p,
        scaleFloor,
      );
    }

    add(f: number): void {
      PeaksOverThreshold.addTo(this.data, this.base, this.heap, this.heap0, this.tailSize, f);
    }

    state(): PeaksOverThresholdState {
      return PeaksOverThreshold.stateOf(this.data, this.base, this.heap, this.heap0);
    }

    /** Restores `state` into a zero-filled tail (see the constructor). */
    static load(
      data: Float64Array,
      base: number,
      heap: Float64Array | Float32Array,
      heap0: number,
      tailSize: number,
      state: PeaksOverThresholdState,
    ): void {
      const n = Math.min(state.heap.length, tailSize);
      for (let i = 0; i < n; i++) heap[heap0 + i] = state.heap[i]!;
      data[base] = n;
      // A float64 snapshot restored into a float32 heap: the sum is recomputed from the values
      // as stored, so the fit stays consistent with its heap.
      let sum = state.sum;
      if (heap !== data && n > 0) {
        sum = 0;
        for (let i = 0; i < n; i++) sum += heap[heap0 + i]!;
        if (sumMatches(state, heap, heap0)) sum = state.sum;
      }
      data[base + 1] = sum;
      data[base + 2] = state.seen;
    }

    /** `surprise` of the tail at (data, base, heap, heap0). */
    static surpriseOf(
      data: Float64Array,
      base: number,
      heap: Float64Array | Float32Array,
      h0: number,
      k: number,
      minScale: number,
      f: number,
      scaleFloor: number,
      minCount: number,
    ): number {
      if (data[base]! < k) return 0;
      const u = heap[h0]!;
      if (!(f > u)) return 0;
      const seen = data[base + 2]!;
      // The last floor keeps a tail of identical values (a flat series) from dividing by zero while
      // still treating anything above it as extremely surprising.
      const beta = Math.max(
        data[base + 1]! / k - u,
        minScale,
        scaleFloor,
        1e-12 + 1e-9 * Math.abs(u),
      );
      let surprise = Math.log10(seen / k) + (f - u) / (beta * Math.LN10);
      if (minCount > 0) {
        let atLeast = 0;
        for (let i = h0; i < h0 + k; i++) if (heap[i]! >= f) atLeast++;
        if (atLeast >= minCount) surprise = Math.min(surprise, Math.log10(seen / atLeast));
      }
      return surprise;
    }

    /** `edge` of the tail at (data, base, heap, heap0). */
    static edgeOf(
      data: Float64Array,
      base: number,
      heap: Float64Array | Float32Array,
      h0: number,
      k: number,
      minScale: number,
      log10p: number,
      scaleFloor: number,
    ): number | null {
      if (data[base]! < k) return null;
      const u = heap[h0]!;
      const beta = Math.max(
        data[base + 1]! / k - u,
        minScale,
        scaleFloor,
        1e-12 + 1e-9 * Math.abs(u),
      );
      return Math.max(u, u + beta * Math.LN10 * (log10p - Math.log10(data[base + 2]! / k)));
    }

    /** `add` to the tail at (data, base, heap, heap0). */
    static addTo(
      data: Float64Array,
      base: number,
      heap: Float64Array | Float32Array,
      h0: number,
      tailSize: number,
      f: number,
    ): void {
      data[base + 2] = data[base + 2]! + 1;
      const size = data[base]!;
      if (size < tailSize) {
        let i = size;
        data[base] = size + 1;
        heap[h0 + i] = f;
        // The value as stored (float32-rounded in a float32 heap), so the sum matches the heap.
        data[base + 1] = data[base + 1]! + heap[h0 + i]!;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (heap[h0 + parent]! <= heap[h0 + i]!) break;
          const t = heap[h0 + parent]!;
          heap[h0 + parent] = heap[h0 + i]!;
          heap[h0 + i] = t;
          i = parent;
        }
        return;
      }
      const u = heap[h0]!;
      if (!(f > u)) return;
      heap[h0] = f;
      data[base + 1] = data[base + 1]! + (heap[h0]! - u);
      // Sift down.
      const n = size;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < n && heap[h0 + left]! < heap[h0 + smallest]!) smallest = left;
        if (right < n && heap[h0 + right]! < heap[h0 + smallest]!) smallest = right;
        if (smallest === i) return;
        const t = heap[h0 + smallest]!;
        heap[h0 + smallest] = heap[h0 + i]!;
        heap[h0 + i] = t;
        i = smallest;
      }
    }

    /** `state` of the tail at (data, base, heap, heap0). */
    static stateOf(
      data: Float64Array,
      base: number,
      heap: Float64Array | Float32Array,
      heap0: number,
    ): PeaksOverThresholdState {
      const size = data[base]!;
      return {
        heap: Array.from(heap.subarray(heap0, heap0 + size)),
        sum: data[base + 1]!,
        seen: data[base + 2]!,
      };
    }
  };
}

/**
 * The class, defined twice: tails with float64 heaps and tails with float32 heaps get code of
 * their own, so each keeps monomorphic element access in its hot loops (one class for both ran
 * the whole detector several per cent slower). Same behaviour, same state.
 */
export const PeaksOverThreshold = definePeaksOverThreshold();
export type PeaksOverThreshold = InstanceType<typeof PeaksOverThreshold>;
/** For tails whose heap is a Float32Array. */
export const PeaksOverThreshold32 = definePeaksOverThreshold();

/** Does the snapshot's heap survive float32 storage unchanged (then its sum is kept as is)? */
function sumMatches(
  state: PeaksOverThresholdState,
  heap: Float64Array | Float32Array,
  heap0: number,
): boolean {
  for (let i = 0; i < state.heap.length; i++) if (heap[heap0 + i] !== state.heap[i]) return false;
  return true;
}

export interface PeaksOverThresholdState {
  /** The heap array as stored (a valid min-heap), at most `tailSize` values. */
  readonly heap: number[];
  /** Running sum of the heap, kept as accumulated so a restore continues bit for bit. */
  readonly sum: number;
  readonly seen: number;
}
