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
  private readonly highs: Float64Array;
  private readonly lows: Float64Array;

  constructor(
    private readonly periodMs: number,
    private readonly days: number,
    private readonly buckets: number,
    private readonly width: number,
    state?: SeasonalEnvelopeState,
  ) {
    this.rows = days + 1;
    this.rowDay = new Float64Array(this.rows).fill(Number.NaN);
    this.highs = new Float64Array(this.rows * buckets).fill(Number.NEGATIVE_INFINITY);
    this.lows = new Float64Array(this.rows * buckets).fill(Number.POSITIVE_INFINITY);
    if (state) {
      const n = this.rows * buckets;
      for (let r = 0; r < this.rows && r < state.days.length; r++) {
        this.rowDay[r] = state.days[r] ?? Number.NaN;
      }
      for (let j = 0; j < n && j < state.highs.length; j++) {
        this.highs[j] = state.highs[j] ?? Number.NEGATIVE_INFINITY;
        this.lows[j] = state.lows[j] ?? Number.POSITIVE_INFINITY;
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
    let high = Number.NEGATIVE_INFINITY;
    let low = Number.POSITIVE_INFINITY;
    for (let r = 0; r < this.rows; r++) {
      const d = this.rowDay[r]!;
      if (!(d < day && d >= day - this.days)) continue;
      for (let k = -this.width; k <= this.width; k++) {
        const j = r * b + ((((h + k) % b) + b) % b);
        if (this.highs[j]! > high) high = this.highs[j]!;
        if (this.lows[j]! < low) low = this.lows[j]!;
      }
    }
    this.high = high;
    this.low = low;
  }

  add(t: number, x: number): void {
    const day = this.day(t);
    const r = ((day % this.rows) + this.rows) % this.rows;
    const b = this.buckets;
    if (this.rowDay[r] !== day) {
      this.rowDay[r] = day;
      this.highs.fill(Number.NEGATIVE_INFINITY, r * b, r * b + b);
      this.lows.fill(Number.POSITIVE_INFINITY, r * b, r * b + b);
    }
    const j = r * b + this.bucket(t, day);
    if (x > this.highs[j]!) this.highs[j] = x;
    if (x < this.lows[j]!) this.lows[j] = x;
  }

  /** JSON-safe state: null for a row never written and for an empty bucket. */
  state(): SeasonalEnvelopeState {
    const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
    return {
      days: Array.from(this.rowDay, finiteOrNull),
      highs: Array.from(this.highs, finiteOrNull),
      lows: Array.from(this.lows, finiteOrNull),
    };
  }
}

export interface SeasonalEnvelopeState {
  days: (number | null)[];
  highs: (number | null)[];
  lows: (number | null)[];
}
