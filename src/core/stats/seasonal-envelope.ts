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
  /** Day number held by each row; NaN for a row never written. */
  private readonly rowDay: Float64Array;
  /**
   * The highs from `hi`, the lows from `lo`, in float32 rounded outwards (a high up, a low down),
   * so each still bounds the values it was taken over; in one buffer with `rowDay`.
   */
  private readonly data: Float32Array;
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
    this.hi = 0;
    this.lo = n;
    const buffer = new ArrayBuffer(this.rows * 8 + 2 * n * 4);
    const rowDay = (this.rowDay = new Float64Array(buffer, 0, this.rows));
    const data = (this.data = new Float32Array(buffer, this.rows * 8, 2 * n));
    rowDay.fill(Number.NaN);
    data.fill(Number.NEGATIVE_INFINITY, this.hi, this.lo);
    data.fill(Number.POSITIVE_INFINITY, this.lo);
    if (state) {
      for (let r = 0; r < this.rows && r < state.days.length; r++) {
        rowDay[r] = state.days[r] ?? Number.NaN;
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
    const rowDay = this.rowDay;
    for (let r = 0; r < this.rows; r++) {
      const d = rowDay[r]!;
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
    if (this.rowDay[r] !== day) {
      this.rowDay[r] = day;
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
      days: Array.from(this.rowDay, finiteOrNull),
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
