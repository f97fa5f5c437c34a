import { float32Down, float32Up } from './float32.js';

/**
 * The range of values seen at this time of day on the previous days: per (day, hour bucket) the
 * maximum and minimum, kept for `days` days in a ring of `days + 1` day rows (the current day is
 * written but never read). `read(t)` sets `high`/`low` to the max/min over the previous `days`
 * days of buckets h - width .. h + width (cyclic), or -∞/+∞ when nothing was seen there.
 * A value inside that range has been seen at this time of day within the horizon.
 *
 * The envelope is a few functions on a float32 run of `envelopeSlots(days, buckets)` entries from
 * offset `at`, wherever the caller keeps it (a detector: in its one store per series): the day
 * number held by each row (NaN for a row never written; day numbers are whole and below 2^24 until
 * the year 47,000, so float32 holds them exactly), then the highs, then the lows, rounded outwards
 * (a high up, a low down), so each still bounds the values it was taken over.
 * `SeasonalEnvelope` is the same envelope with an array of its own.
 */
export interface EnvelopeShape {
  readonly periodMs: number;
  readonly days: number;
  readonly buckets: number;
  readonly width: number;
}

/** Float32 slots of an envelope. */
export function envelopeSlots(days: number, buckets: number): number {
  return (days + 1) * (1 + 2 * buckets);
}

/** Results of the last `envelopeRead` (read within the same synchronous call). */
export const envelopeBounds = {
  high: Number.NEGATIVE_INFINITY,
  low: Number.POSITIVE_INFINITY,
};

/** Empties the envelope at `at`, then loads `state` if given. */
export function envelopeInit(
  data: Float32Array,
  at: number,
  shape: EnvelopeShape,
  state?: SeasonalEnvelopeState,
): void {
  const rows = shape.days + 1;
  const n = rows * shape.buckets;
  const hi = at + rows;
  const lo = hi + n;
  data.fill(Number.NaN, at, hi);
  data.fill(Number.NEGATIVE_INFINITY, hi, lo);
  data.fill(Number.POSITIVE_INFINITY, lo, lo + n);
  if (state) {
    for (let r = 0; r < rows && r < state.days.length; r++) {
      data[at + r] = state.days[r] ?? Number.NaN;
    }
    // Rounded outwards: a snapshot written with float64 bounds restores as their float32 cover.
    for (let j = 0; j < n && j < state.highs.length; j++) {
      data[hi + j] = float32Up(state.highs[j] ?? Number.NEGATIVE_INFINITY);
      data[lo + j] = float32Down(state.lows[j] ?? Number.POSITIVE_INFINITY);
    }
  }
}

function bucketOf(t: number, day: number, shape: EnvelopeShape): number {
  const h = Math.floor(((t - day * shape.periodMs) / shape.periodMs) * shape.buckets);
  return h < shape.buckets ? h : shape.buckets - 1;
}

/** Sets `envelopeBounds` for time t. Read-only for the stored ranges. */
export function envelopeRead(
  data: Float32Array,
  at: number,
  shape: EnvelopeShape,
  t: number,
): void {
  const day = Math.floor(t / shape.periodMs);
  const h = bucketOf(t, day, shape);
  const b = shape.buckets;
  const rows = shape.days + 1;
  const hi = at + rows;
  const lo = hi + rows * b;
  const width = shape.width;
  const oldest = day - shape.days;
  let high = Number.NEGATIVE_INFINITY;
  let low = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rows; r++) {
    const d = data[at + r]!;
    if (!(d < day && d >= oldest)) continue;
    for (let k = -width; k <= width; k++) {
      const j = r * b + ((((h + k) % b) + b) % b);
      if (data[hi + j]! > high) high = data[hi + j]!;
      if (data[lo + j]! < low) low = data[lo + j]!;
    }
  }
  envelopeBounds.high = high;
  envelopeBounds.low = low;
}

export function envelopeAdd(
  data: Float32Array,
  at: number,
  shape: EnvelopeShape,
  t: number,
  x: number,
): void {
  const day = Math.floor(t / shape.periodMs);
  const rows = shape.days + 1;
  const r = ((day % rows) + rows) % rows;
  const b = shape.buckets;
  const hi = at + rows;
  const lo = hi + rows * b;
  if (data[at + r] !== day) {
    data[at + r] = day;
    data.fill(Number.NEGATIVE_INFINITY, hi + r * b, hi + r * b + b);
    data.fill(Number.POSITIVE_INFINITY, lo + r * b, lo + r * b + b);
  }
  const j = r * b + bucketOf(t, day, shape);
  if (x > data[hi + j]!) data[hi + j] = float32Up(x);
  if (x < data[lo + j]!) data[lo + j] = float32Down(x);
}

/** JSON-safe state: null for a row never written and for an empty bucket. */
export function envelopeState(
  data: Float32Array,
  at: number,
  shape: EnvelopeShape,
): SeasonalEnvelopeState {
  const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const rows = shape.days + 1;
  const n = rows * shape.buckets;
  const hi = at + rows;
  const lo = hi + n;
  return {
    days: Array.from(data.subarray(at, hi), finiteOrNull),
    highs: Array.from(data.subarray(hi, lo), finiteOrNull),
    lows: Array.from(data.subarray(lo, lo + n), finiteOrNull),
  };
}

/** The envelope with an array of its own. */
export class SeasonalEnvelope {
  /** Results of the last `read`. */
  high = Number.NEGATIVE_INFINITY;
  low = Number.POSITIVE_INFINITY;
  private readonly shape: EnvelopeShape;
  private readonly data: Float32Array;

  constructor(
    periodMs: number,
    days: number,
    buckets: number,
    width: number,
    state?: SeasonalEnvelopeState,
  ) {
    this.shape = { periodMs, days, buckets, width };
    this.data = new Float32Array(envelopeSlots(days, buckets));
    envelopeInit(this.data, 0, this.shape, state);
  }

  /** Sets `high` and `low` for time t. Read-only for the stored ranges. */
  read(t: number): void {
    envelopeRead(this.data, 0, this.shape, t);
    this.high = envelopeBounds.high;
    this.low = envelopeBounds.low;
  }

  add(t: number, x: number): void {
    envelopeAdd(this.data, 0, this.shape, t, x);
  }

  state(): SeasonalEnvelopeState {
    return envelopeState(this.data, 0, this.shape);
  }
}

export interface SeasonalEnvelopeState {
  days: (number | null)[];
  highs: (number | null)[];
  lows: (number | null)[];
}
