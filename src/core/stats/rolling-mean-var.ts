import { Welford } from './welford.js';
import { VigilError } from '../../errors.js';

/**
 * Mean and variance of the last `capacity` values (a fixed count). The values sit in a
 * Float64Array ring; each update is O(1) through Welford add/remove, and the accumulators are
 * recomputed exactly from the ring once per `capacity` updates so rounding error cannot pile up
 * over a long stream (amortised O(1)).
 */
export interface RollingMeanVarState {
  readonly capacity: number;
  /** Ring contents in physical order (length = number of values held). */
  readonly values: readonly number[];
  readonly head: number;
  readonly mean: number;
  readonly m2: number;
  readonly sinceRecompute: number;
}

export class RollingMeanVar {
  readonly capacity: number;
  private readonly buf: Float64Array;
  private size = 0;
  /** Index of the oldest value once the ring is full, i.e. the slot the next value replaces. */
  private head = 0;
  private acc = new Welford();
  private sinceRecompute = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`RollingMeanVar: capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.buf = new Float64Array(capacity);
  }

  static fromState(state: RollingMeanVarState): RollingMeanVar {
    const r = new RollingMeanVar(state.capacity);
    if (state.values.length > state.capacity || state.head >= state.capacity) {
      throw new VigilError('VIGIL_ERR_STORE_INVALID', 'RollingMeanVar: inconsistent state');
    }
    r.buf.set(state.values);
    r.size = state.values.length;
    r.head = state.head;
    r.sinceRecompute = state.sinceRecompute;
    r.acc = Welford.fromState({ count: r.size, mean: state.mean, m2: state.m2 });
    return r;
  }

  state(): RollingMeanVarState {
    const s = this.acc.state();
    return {
      capacity: this.capacity,
      values: Array.from(this.buf.subarray(0, this.size)),
      head: this.head,
      mean: s.mean,
      m2: s.m2,
      sinceRecompute: this.sinceRecompute,
    };
  }

  get count(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  get mean(): number {
    return this.acc.mean;
  }

  get variance(): number {
    return this.acc.variance;
  }

  get sampleVariance(): number {
    return this.acc.sampleVariance;
  }

  get std(): number {
    return this.acc.std;
  }

  get sampleStd(): number {
    return this.acc.sampleStd;
  }

  /** The i-th oldest value held (0 = oldest). */
  at(i: number): number {
    const idx = this.size < this.capacity ? i : (this.head + i) % this.capacity;
    return this.buf[idx] as number;
  }

  update(x: number): void {
    if (this.size < this.capacity) {
      this.buf[this.size++] = x;
      this.acc.add(x);
      return;
    }
    const old = this.buf[this.head] as number;
    this.buf[this.head] = x;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    if (++this.sinceRecompute >= this.capacity) {
      this.sinceRecompute = 0;
      this.acc.recompute(this.buf);
      return;
    }
    this.acc.remove(old);
    this.acc.add(x);
  }
}
