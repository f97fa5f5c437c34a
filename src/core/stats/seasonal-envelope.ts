/**
 * The range of values seen at this time of day on the previous days: per (day, hour bucket) the
 * maximum and minimum, kept for `days` days in a ring of `days + 1` day rows (the current day is
 * written but never read). `read(t)` sets `high`/`low` to the max/min over the previous `days`
 * days of buckets h - width .. h + width (cyclic), or -∞/+∞ when nothing was seen there.
 * A value inside that range has been seen at this time of day within the horizon.
 *
 * The envelope is a few functions on three runs wherever the caller keeps them (a detector: in
 * its one store per series), located by an `EnvelopeAt`:
 * - `ENVELOPE_SCALARS` float64 scalars: the reference (the first value added) and the step;
 * - `envelopeDaySlots(days)` float32 slots: the day number held by each row (NaN for a row never
 *   written; day numbers are whole and below 2^24 until the year 47,000, so float32 holds them);
 * - `envelopeCodeSlots(days, buckets)` 16-bit slots: the highs, then the lows, each as
 *   reference + n × step with n a 16-bit whole number (code n + 32,768; code 0: an empty bucket),
 *   rounded outwards (a high up, a low down), so each still bounds the values it was taken over.
 *   The step is a power of two chosen from the first value that differs from the reference (it
 *   then spans 2^13..2^14 steps) and doubled, rounding every bound outwards again, when a value
 *   lies beyond ±32,767 steps: bounds are within 2^-14..2^-13 of the largest distance from the
 *   reference seen, a little wider than the values they bound, never narrower.
 * `SeasonalEnvelope` is the same envelope with arrays of its own.
 */
export interface EnvelopeShape {
  readonly periodMs: number;
  readonly days: number;
  readonly buckets: number;
  readonly width: number;
}

/** Float64 scalars of an envelope: reference, step. */
export const ENVELOPE_SCALARS = 2;
const REFERENCE = 0;
const STEP = 1;

const EMPTY = 0;
const ZERO = 32768;
const MAX_STEPS = 32767;

/** Float32 slots of an envelope (its rows' day numbers). */
export function envelopeDaySlots(days: number): number {
  return days + 1;
}

/** 16-bit slots of an envelope (its bounds). */
export function envelopeCodeSlots(days: number, buckets: number): number {
  return 2 * (days + 1) * buckets;
}

/** Where an envelope's parts are: scalars at (scalars, s), days at (days, d), bounds at (codes, c). */
export interface EnvelopeAt {
  scalars: Float64Array;
  s: number;
  days: Float32Array;
  d: number;
  codes: Uint16Array;
  c: number;
}

/** Results of the last `envelopeRead` (read within the same synchronous call). */
export const envelopeBounds = {
  high: Number.NEGATIVE_INFINITY,
  low: Number.POSITIVE_INFINITY,
};

/** Empties the envelope, then loads `state` if given. */
export function envelopeInit(at: EnvelopeAt, shape: EnvelopeShape, state?: SeasonalEnvelopeState) {
  const rows = shape.days + 1;
  const n = rows * shape.buckets;
  const { scalars, s, days, d, codes, c } = at;
  days.fill(Number.NaN, d, d + rows);
  codes.fill(EMPTY, c, c + 2 * n);
  scalars[s + REFERENCE] = Number.NaN;
  scalars[s + STEP] = 0;
  if (!state) return;
  for (let r = 0; r < rows && r < state.days.length; r++) days[d + r] = state.days[r] ?? Number.NaN;
  const m = Math.min(n, state.highs.length, state.lows.length);
  if (state.step !== undefined && state.reference !== undefined) {
    // Written by this code: the bounds are step counts on its grid.
    scalars[s + REFERENCE] = state.reference;
    scalars[s + STEP] = state.step;
    for (let j = 0; j < m; j++) {
      const high = state.highs[j];
      const low = state.lows[j];
      codes[c + j] = high === null || high === undefined ? EMPTY : high + ZERO;
      codes[c + n + j] = low === null || low === undefined ? EMPTY : low + ZERO;
    }
    return;
  }
  // Written with float32 (or float64) bounds: placed on a grid, outwards, the first bound the
  // reference.
  for (let j = 0; j < m; j++) {
    const high = state.highs[j];
    const low = state.lows[j];
    if (high !== null && high !== undefined) codes[c + j] = place(at, n, high, true);
    if (low !== null && low !== undefined) codes[c + n + j] = place(at, n, low, false);
  }
}

/** reference + n × step of a non-empty code. */
function decode(scalars: Float64Array, s: number, code: number): number {
  return scalars[s + REFERENCE]! + (code - ZERO) * scalars[s + STEP]!;
}

/** The power-of-two step under which |x| (> 0) takes 2^13..2^14 steps, and not below ref's ulp. */
function stepFor(x: number, reference: number): number {
  const floor = Math.pow(2, Math.floor(Math.log2(Math.abs(reference) || 1)) - 40);
  return Math.max(Math.pow(2, Math.floor(Math.log2(x)) - 13), floor);
}

/**
 * The code of `x` as a high (`up`) or a low, rounded outwards; chooses the reference and the step
 * at need, and doubles the step (rounding the `n` highs and `n` lows outwards) while x is out of
 * range.
 */
function place(at: EnvelopeAt, n: number, x: number, up: boolean): number {
  const { scalars, s, codes, c } = at;
  let ref = scalars[s + REFERENCE]!;
  if (ref !== ref) ref = scalars[s + REFERENCE] = x;
  if (x === ref) return ZERO;
  let step = scalars[s + STEP]!;
  if (step === 0) step = scalars[s + STEP] = stepFor(Math.abs(x - ref), ref);
  let k = up ? Math.ceil((x - ref) / step) : Math.floor((x - ref) / step);
  if (k > MAX_STEPS || k < -MAX_STEPS) {
    let factor = 1;
    while (k > MAX_STEPS || k < -MAX_STEPS) {
      factor *= 2;
      k = up ? Math.ceil((x - ref) / (step * factor)) : Math.floor((x - ref) / (step * factor));
    }
    for (let j = c; j < c + n; j++) {
      const code = codes[j]!;
      if (code !== EMPTY) codes[j] = Math.ceil((code - ZERO) / factor) + ZERO;
    }
    for (let j = c + n; j < c + 2 * n; j++) {
      const code = codes[j]!;
      if (code !== EMPTY) codes[j] = Math.floor((code - ZERO) / factor) + ZERO;
    }
    step = scalars[s + STEP] = step * factor;
  }
  // The division and the decoding round: make sure the bound still bounds.
  if (up) while (ref + k * step < x) k++;
  else while (ref + k * step > x) k--;
  return k + ZERO;
}

function bucketOf(t: number, day: number, shape: EnvelopeShape): number {
  const h = Math.floor(((t - day * shape.periodMs) / shape.periodMs) * shape.buckets);
  return h < shape.buckets ? h : shape.buckets - 1;
}

/** Sets `envelopeBounds` for time t. Read-only for the stored ranges. */
export function envelopeRead(at: EnvelopeAt, shape: EnvelopeShape, t: number): void {
  const day = Math.floor(t / shape.periodMs);
  const h = bucketOf(t, day, shape);
  const b = shape.buckets;
  const rows = shape.days + 1;
  const { days, d, codes, c } = at;
  const lo = c + rows * b;
  const width = shape.width;
  const oldest = day - shape.days;
  // Codes order like the bounds they stand for (one grid), so the extremes are found on codes;
  // an empty high (0) is below every other, an empty low is skipped.
  let high = EMPTY;
  let low = 65536;
  for (let r = 0; r < rows; r++) {
    const rowDay = days[d + r]!;
    if (!(rowDay < day && rowDay >= oldest)) continue;
    for (let k = -width; k <= width; k++) {
      const j = r * b + ((((h + k) % b) + b) % b);
      const hc = codes[c + j]!;
      if (hc > high) high = hc;
      const lc = codes[lo + j]!;
      if (lc !== EMPTY && lc < low) low = lc;
    }
  }
  envelopeBounds.high = high === EMPTY ? Number.NEGATIVE_INFINITY : decode(at.scalars, at.s, high);
  envelopeBounds.low = low === 65536 ? Number.POSITIVE_INFINITY : decode(at.scalars, at.s, low);
}

export function envelopeAdd(at: EnvelopeAt, shape: EnvelopeShape, t: number, x: number): void {
  const day = Math.floor(t / shape.periodMs);
  const rows = shape.days + 1;
  const r = ((day % rows) + rows) % rows;
  const b = shape.buckets;
  const n = rows * b;
  const { days, d, codes, c, scalars, s } = at;
  const lo = c + n;
  if (days[d + r] !== day) {
    days[d + r] = day;
    codes.fill(EMPTY, c + r * b, c + r * b + b);
    codes.fill(EMPTY, lo + r * b, lo + r * b + b);
  }
  const j = r * b + bucketOf(t, day, shape);
  const high = codes[c + j]!;
  if (high === EMPTY || x > decode(scalars, s, high)) codes[c + j] = place(at, n, x, true);
  const low = codes[lo + j]!;
  if (low === EMPTY || x < decode(scalars, s, low)) codes[lo + j] = place(at, n, x, false);
}

/** JSON-safe state: null for a row never written and for an empty bucket; bounds in steps. */
export function envelopeState(at: EnvelopeAt, shape: EnvelopeShape): SeasonalEnvelopeState {
  const rows = shape.days + 1;
  const n = rows * shape.buckets;
  const { scalars, s, days, d, codes, c } = at;
  const steps = (code: number): number | null => (code === EMPTY ? null : code - ZERO);
  const reference = scalars[s + REFERENCE]!;
  return {
    days: Array.from(days.subarray(d, d + rows), (v) => (Number.isFinite(v) ? v : null)),
    highs: Array.from(codes.subarray(c, c + n), steps),
    lows: Array.from(codes.subarray(c + n, c + 2 * n), steps),
    ...(reference === reference ? { reference, step: scalars[s + STEP]! } : {}),
  };
}

/** The envelope with arrays of its own. */
export class SeasonalEnvelope {
  /** Results of the last `read`. */
  high = Number.NEGATIVE_INFINITY;
  low = Number.POSITIVE_INFINITY;
  private readonly shape: EnvelopeShape;
  private readonly at: EnvelopeAt;

  constructor(
    periodMs: number,
    days: number,
    buckets: number,
    width: number,
    state?: SeasonalEnvelopeState,
  ) {
    this.shape = { periodMs, days, buckets, width };
    this.at = {
      scalars: new Float64Array(ENVELOPE_SCALARS),
      s: 0,
      days: new Float32Array(envelopeDaySlots(days)),
      d: 0,
      codes: new Uint16Array(envelopeCodeSlots(days, buckets)),
      c: 0,
    };
    envelopeInit(this.at, this.shape, state);
  }

  /** Sets `high` and `low` for time t. Read-only for the stored ranges. */
  read(t: number): void {
    envelopeRead(this.at, this.shape, t);
    this.high = envelopeBounds.high;
    this.low = envelopeBounds.low;
  }

  add(t: number, x: number): void {
    envelopeAdd(this.at, this.shape, t, x);
  }

  state(): SeasonalEnvelopeState {
    return envelopeState(this.at, this.shape);
  }
}

export interface SeasonalEnvelopeState {
  days: (number | null)[];
  /**
   * With `reference` and `step`: each bound as its whole number of steps from the reference.
   * Without (states written when bounds were float32): the bounds themselves.
   */
  highs: (number | null)[];
  lows: (number | null)[];
  reference?: number;
  step?: number;
}
