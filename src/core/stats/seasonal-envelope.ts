import { float32Down, float32Up } from './float32.js';

/**
 * The range of values seen at this time of day on the previous days: per (day, hour bucket) the
 * maximum and minimum, kept for `days` days in a ring of `days + 1` day rows (the current day is
 * written but never read). `read(t)` sets `high`/`low` to the max/min over the previous `days`
 * days of buckets h - width .. h + width (cyclic), or -∞/+∞ when nothing was seen there.
 * A value inside that range has been seen at this time of day within the horizon.
 */
export class SeasonalEnvelope {
  /** Results of the last `read`. */
  high = Number.NEGATIVE_INFINITY;
  low = Number.POSITIVE_INFINITY;
  private readonly rows: number;
  /**
   * One float32 array from `rd`: the day number held by each row (NaN for a row never written;
   * day numbers are whole and below 2^24 until the year 47,000, so float32 holds them exactly),
   * then the highs from `hi`, the lows from `lo`, rounded outwards (a high up, a low down), so
   * each still bounds the values it was taken over. The array may be a detector's whole store.
   */
  private readonly data: Float32Array;
  private readonly rd: number;
  private readonly hi: number;
  private readonly lo: number;

  /** Float32 slots an envelope takes in a shared store. */
  static slots(days: number, buckets: number): number {
    return (days + 1) * (1 + 2 * buckets);
  }

  /**
   * @param store, offset: keep the envelope in `store` from `offset` (`slots(days, buckets)`
   *   entries) instead of an array of its own.
   */
  constructor(
    private readonly periodMs: number,
    private readonly days: number,
    private readonly buckets: number,
    private readonly width: number,
    state?: SeasonalEnvelopeState,
    store?: Float32Array,
    offset = 0,
  ) {
    this.rows = days + 1;
    const n = this.rows * buckets;
    const data = (this.data = store ?? new Float32Array(SeasonalEnvelope.slots(days, buckets)));
    const rd = (this.rd = store ? offset : 0);
    this.hi = rd + this.rows;
    this.lo = this.hi + n;
    data.fill(Number.NaN, rd, this.hi);
    data.fill(Number.NEGATIVE_INFINITY, this.hi, this.lo);
    data.fill(Number.POSITIVE_INFINITY, this.lo, this.lo + n);
    if (state) {
      for (let r = 0; r < this.rows && r < state.days.length; r++) {
        data[rd + r] = state.days[r] ?? Number.NaN;
      }
      // Rounded outwards: a snapshot written with float64 bounds restores as their float32 cover.
      for (let j = 0; j < n && j < state.highs.length; j++) {
        data[this.hi + j] = float32Up(state.highs[j] ?? Number.NEGATIVE_INFINITY);
        data[this.lo + j] = float32Down(state.lows[j] ?? Number.POSITIVE_INFINITY);
      }
    }
  }

  private day(t: number): number {
    return Math.floor(t / this.periodMs);
  }

  private bucket(t: number, day: number): number {
    const h = Math.floor(((t - day * this.periodMs) / this.periodMs) * this.buckets);
    return h < this.buckets ? h : this.buckets - 1;
  }

  /** Sets `high` and `low` for time t. Read-only for the stored ranges. */
  read(t: number): void {
    const day = this.day(t);
    const h = this.bucket(t, day);
    const b = this.buckets;
    const data = this.data;
    let high = Number.NEGATIVE_INFINITY;
    let low = Number.POSITIVE_INFINITY;
    const rd = this.rd;
    for (let r = 0; r < this.rows; r++) {
      const d = data[rd + r]!;
      if (!(d < day && d >= day - this.days)) continue;
      for (let k = -this.width; k <= this.width; k++) {
        const j = r * b + ((((h + k) % b) + b) % b);
        if (data[this.hi + j]! > high) high = data[this.hi + j]!;
        if (data[this.lo + j]! < low) low = data[this.lo + j]!;
      }
    }
    this.high = high;
    this.low = low;
  }

  add(t: number, x: number): void {
    const day = this.day(t);
    const r = ((day % this.rows) + this.rows) % this.rows;
    const b = this.buckets;
    const data = this.data;
    if (data[this.rd + r] !== day) {
      data[this.rd + r] = day;
      data.fill(Number.NEGATIVE_INFINITY, this.hi + r * b, this.hi + r * b + b);
      data.fill(Number.POSITIVE_INFINITY, this.lo + r * b, this.lo + r * b + b);
    }
    const j = r * b + this.bucket(t, day);
    if (x > data[this.hi + j]!) data[this.hi + j] = float32Up(x);
    if (x < data[this.lo + j]!) data[this.lo + j] = float32Down(x);
  }

  /** JSON-safe state: null for a row never written and for an empty bucket. */
  state(): SeasonalEnvelopeState {
    const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
    const data = this.data;
    return {
      days: Array.from(data.subarray(this.rd, this.hi), finiteOrNull),
      highs: Array.from(data.subarray(this.hi, this.lo), finiteOrNull),
      lows: Array.from(data.subarray(this.lo, this.lo + (this.lo - this.hi)), finiteOrNull),
    };
  }
}

export interface SeasonalEnvelopeState {
  days: (number | null)[];
  highs: (number | null)[];
  lows: (number | null)[];
}
