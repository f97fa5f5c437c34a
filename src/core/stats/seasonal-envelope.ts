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
   * One array per envelope (not three): the day number held by each row (NaN for a row never
   * written) from 0, the highs from `hi`, the lows from `lo`.
   */
  private readonly data: Float64Array;
  private readonly hi: number;
  private readonly lo: number;

  constructor(
    private readonly periodMs: number,
    private readonly days: number,
    private readonly buckets: number,
    private readonly width: number,
    state?: SeasonalEnvelopeState,
  ) {
    this.rows = days + 1;
    const n = this.rows * buckets;
    this.hi = this.rows;
    this.lo = this.rows + n;
    const data = (this.data = new Float64Array(this.rows + 2 * n));
    data.fill(Number.NaN, 0, this.hi);
    data.fill(Number.NEGATIVE_INFINITY, this.hi, this.lo);
    data.fill(Number.POSITIVE_INFINITY, this.lo);
    if (state) {
      for (let r = 0; r < this.rows && r < state.days.length; r++) {
        data[r] = state.days[r] ?? Number.NaN;
      }
      for (let j = 0; j < n && j < state.highs.length; j++) {
        data[this.hi + j] = state.highs[j] ?? Number.NEGATIVE_INFINITY;
        data[this.lo + j] = state.lows[j] ?? Number.POSITIVE_INFINITY;
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
    for (let r = 0; r < this.rows; r++) {
      const d = data[r]!;
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
    if (data[r] !== day) {
      data[r] = day;
      data.fill(Number.NEGATIVE_INFINITY, this.hi + r * b, this.hi + r * b + b);
      data.fill(Number.POSITIVE_INFINITY, this.lo + r * b, this.lo + r * b + b);
    }
    const j = r * b + this.bucket(t, day);
    if (x > data[this.hi + j]!) data[this.hi + j] = x;
    if (x < data[this.lo + j]!) data[this.lo + j] = x;
  }

  /** JSON-safe state: null for a row never written and for an empty bucket. */
  state(): SeasonalEnvelopeState {
    const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
    const data = this.data;
    return {
      days: Array.from(data.subarray(0, this.hi), finiteOrNull),
      highs: Array.from(data.subarray(this.hi, this.lo), finiteOrNull),
      lows: Array.from(data.subarray(this.lo), finiteOrNull),
    };
  }
}

export interface SeasonalEnvelopeState {
  days: (number | null)[];
  highs: (number | null)[];
  lows: (number | null)[];
}
