/**
 * An additive level + seasonal model (Holt–Winters without trend): the prediction for a time is
 * level + offset of that time's slot in the cycle (a day by default). The level follows slow
 * changes of the whole series; each slot's offset learns what that time of the cycle adds to it.
 *
 * The slot width follows the series' first positive sampling interval, capped at `maxSlots` slots
 * so memory stays bounded for fast series. Slots are keyed on event time modulo the period, so
 * gaps and irregular sampling are harmless. A slot seen for the first time takes its offset from
 * the current level without moving the level.
 *
 * The model is a few functions on four float64 scalars (`SEASON_SCALARS`: first time, level, slot
 * count, 0 before the layout is known, and the offsets' step) and a 16-bit run of slot offsets,
 * wherever the caller keeps them: a detector keeps both in its one store per series
 * (docs/detectors.md, "Memory per series"). `LevelSeasonModel` is the same model with arrays of
 * its own.
 *
 * Slot offsets are the largest part of a series' state, so they are kept as 16-bit multiples of
 * one step per model (block floating point): an offset is a deviation from the level, so its
 * precision need only be relative to the season's amplitude, not to the series' magnitude. The
 * step is a power of two chosen from the first non-zero offset (it then spans 2^13..2^14 steps)
 * and doubled, requantising every slot, when an offset outgrows ±32,767 steps; so offsets keep
 * 13–15 significant bits of the largest offset seen. Code 0 is a slot never seen. The level stays
 * float64.
 */

/** Float64 scalars of one model: first time, level, slot count, step of the offsets. */
export const SEASON_SCALARS = 4;
const FIRST_TIME = 0;
const LEVEL = 1;
const SLOTS = 2;
const STEP = 3;

/** The code of a slot never seen; an offset n steps is code n + ZERO. */
const UNSEEN = 0;
const ZERO = 32768;
const MAX_STEPS = 32767;

/** Sets the scalars at `s` to a new model's (or to `state`'s); the offsets are the caller's. */
export function seasonInit(scalars: Float64Array, s: number, state?: LevelSeasonState): void {
  scalars[s + FIRST_TIME] = state?.firstTime ?? Number.NaN;
  scalars[s + LEVEL] = state?.level ?? Number.NaN;
  scalars[s + SLOTS] = state?.offsets ? state.offsets.length : 0;
  scalars[s + STEP] = 0;
}

/** Slot count of the model at `s`; 0 before its layout is known. */
export function seasonSlots(scalars: Float64Array, s: number): number {
  return scalars[s + SLOTS]!;
}

/**
 * Before the layout is known: takes the point as the first one (0), or returns the slot count the
 * model needs from now on (the caller then lays out that many NaN offsets and sets them with
 * `seasonLaidOut`) — or 0 while the interval is not positive yet.
 */
export function seasonSlotsNeeded(
  scalars: Float64Array,
  s: number,
  periodMs: number,
  maxSlots: number,
  timeMs: number,
  value: number,
): number {
  const first = scalars[s + FIRST_TIME]!;
  if (Number.isNaN(first)) {
    scalars[s + FIRST_TIME] = timeMs;
    scalars[s + LEVEL] = value;
    return 0;
  }
  const interval = timeMs - first;
  if (!(interval > 0)) return 0; // repeated first timestamp: wait for a real interval
  return Math.min(maxSlots, Math.max(1, Math.round(periodMs / interval)));
}

/** Records the layout made for `seasonSlotsNeeded`'s answer. */
export function seasonLaidOut(scalars: Float64Array, s: number, slots: number): void {
  scalars[s + SLOTS] = slots;
}

/** Would the model at `s` need `seasonSlotsNeeded` at this same point as the model at `t`? */
export function seasonSameLayout(scalars: Float64Array, s: number, t: number): boolean {
  return (
    scalars[s + SLOTS] === 0 &&
    scalars[t + SLOTS] === 0 &&
    scalars[s + FIRST_TIME] === scalars[t + FIRST_TIME]
  );
}

/** The offset a code stands for (NaN for a slot never seen). */
function decode(code: number, step: number): number {
  return code === UNSEEN ? Number.NaN : (code - ZERO) * step;
}

/** The power-of-two step under which |x| (> 0) takes 2^13..2^14 steps. */
function stepFor(x: number): number {
  // Never 0 (a subnormal x would underflow it): `store` then doubles it into range.
  return Math.max(Math.pow(2, Math.floor(Math.log2(x)) - 13), Number.MIN_VALUE);
}

/**
 * Stores `x` (finite) at `i` on the model's step: chooses the step at the first non-zero offset,
 * or grows it (`regrid`) when x is out of range.
 */
function store(
  scalars: Float64Array,
  s: number,
  offsets: Uint16Array,
  o: number,
  i: number,
  x: number,
): void {
  const step = scalars[s + STEP]!;
  const n = step > 0 ? Math.round(x / step) : 0;
  if (step > 0 && n <= MAX_STEPS && n >= -MAX_STEPS) offsets[i] = n + ZERO;
  else if (step === 0 && x === 0) offsets[i] = ZERO;
  else regrid(scalars, s, offsets, o, i, x);
}

/** The cold part of `store` (kept apart so the hot one stays small enough to inline). */
function regrid(
  scalars: Float64Array,
  s: number,
  offsets: Uint16Array,
  o: number,
  i: number,
  x: number,
): void {
  let step = scalars[s + STEP]!;
  if (step === 0) step = scalars[s + STEP] = stepFor(Math.abs(x));
  let n = Math.round(x / step);
  if (n > MAX_STEPS || n < -MAX_STEPS) {
    let shift = 0;
    while (n > MAX_STEPS || n < -MAX_STEPS) {
      shift++;
      step *= 2;
      n = Math.round(x / step);
    }
    const slots = scalars[s + SLOTS]!;
    const divisor = 2 ** shift;
    for (let j = o; j < o + slots; j++) {
      const code = offsets[j]!;
      if (code !== UNSEEN) offsets[j] = Math.round((code - ZERO) / divisor) + ZERO;
    }
    scalars[s + STEP] = step;
  }
  offsets[i] = n + ZERO;
}

/** The predicted value at this time; NaN while its slot (or the slot layout) is unknown. */
export function seasonExpected(
  scalars: Float64Array,
  s: number,
  offsets: Uint16Array,
  o: number,
  periodMs: number,
  timeMs: number,
): number {
  const slots = scalars[s + SLOTS]!;
  if (slots === 0) return Number.NaN;
  const code = offsets[o + slotOf(slots, periodMs, timeMs)]!;
  return scalars[s + LEVEL]! + decode(code, scalars[s + STEP]!);
}

/** Learns a point into a laid-out model (slot count > 0). */
export function seasonLearn(
  scalars: Float64Array,
  s: number,
  offsets: Uint16Array,
  o: number,
  periodMs: number,
  seasonAlpha: number,
  levelAlpha: number,
  timeMs: number,
  value: number,
): void {
  const i = o + slotOf(scalars[s + SLOTS]!, periodMs, timeMs);
  const code = offsets[i]!;
  const level = scalars[s + LEVEL]!;
  if (code === UNSEEN) {
    store(scalars, s, offsets, o, i, value - level);
    return;
  }
  const offset = decode(code, scalars[s + STEP]!);
  const next = level + levelAlpha * (value - offset - level);
  scalars[s + LEVEL] = next;
  store(scalars, s, offsets, o, i, offset + seasonAlpha * (value - next - offset));
}

/** JSON-safe state of the model at `s` (offsets at `o`). */
export function seasonState(
  scalars: Float64Array,
  s: number,
  offsets: Uint16Array,
  o: number,
): LevelSeasonState {
  const first = scalars[s + FIRST_TIME]!;
  const level = scalars[s + LEVEL]!;
  const slots = scalars[s + SLOTS]!;
  const step = scalars[s + STEP]!;
  const decoded = (code: number): number | null => (code === UNSEEN ? null : decode(code, step));
  return {
    firstTime: Number.isNaN(first) ? null : first,
    level: Number.isNaN(level) ? null : level,
    // Whole multiples of a power of two: exact in JSON, so a restore finds the same codes.
    offsets: slots > 0 ? Array.from(offsets.subarray(o, o + slots), decoded) : null,
    step,
  };
}

/**
 * Copies `state`'s offsets (null: never seen) into `offsets` from `o`, on the state's step. A
 * state without one (written when offsets were float32) gets the step its largest offset would
 * have chosen, and its offsets are rounded to it.
 */
export function seasonLoadOffsets(
  state: LevelSeasonState,
  scalars: Float64Array,
  s: number,
  offsets: Uint16Array,
  o: number,
): void {
  const from = state.offsets;
  if (!from) return;
  let largest = 0;
  for (const x of from) if (x !== null && Math.abs(x) > largest) largest = Math.abs(x);
  let step = state.step ?? 0;
  if (!(step > 0 && largest / step <= MAX_STEPS)) step = largest > 0 ? stepFor(largest) : 0;
  scalars[s + STEP] = step;
  // A loop, not a typed-array `from` with a mapper: restoring a million series runs this.
  for (let i = 0; i < from.length; i++) {
    const x = from[i];
    offsets[o + i] =
      x === null || x === undefined ? UNSEEN : step > 0 ? Math.round(x / step) + ZERO : ZERO;
  }
}

function slotOf(slots: number, periodMs: number, timeMs: number): number {
  const phase = (((timeMs % periodMs) + periodMs) % periodMs) / periodMs;
  return Math.min(slots - 1, Math.floor(phase * slots));
}

/** The model with arrays of its own. */
export class LevelSeasonModel {
  private readonly scalars = new Float64Array(SEASON_SCALARS);
  private offsets: Uint16Array;

  constructor(
    readonly periodMs: number,
    /** Weight of the newest value in a slot's offset. */
    readonly seasonAlpha: number,
    /** Weight of the newest value in the level. */
    readonly levelAlpha: number,
    readonly maxSlots: number,
    state?: LevelSeasonState,
  ) {
    seasonInit(this.scalars, 0, state);
    this.offsets = new Uint16Array(seasonSlots(this.scalars, 0));
    if (state) seasonLoadOffsets(state, this.scalars, 0, this.offsets, 0);
  }

  /** The predicted value at this time; NaN while its slot (or the slot layout) is unknown. */
  expected(timeMs: number): number {
    return seasonExpected(this.scalars, 0, this.offsets, 0, this.periodMs, timeMs);
  }

  learn(timeMs: number, value: number): void {
    if (seasonSlots(this.scalars, 0) === 0) {
      const slots = seasonSlotsNeeded(this.scalars, 0, this.periodMs, this.maxSlots, timeMs, value);
      if (slots === 0) return;
      this.offsets = new Uint16Array(slots); // every slot unseen
      seasonLaidOut(this.scalars, 0, slots);
    }
    const { periodMs, seasonAlpha, levelAlpha } = this;
    seasonLearn(this.scalars, 0, this.offsets, 0, periodMs, seasonAlpha, levelAlpha, timeMs, value);
  }

  state(): LevelSeasonState {
    return seasonState(this.scalars, 0, this.offsets, 0);
  }
}

export interface LevelSeasonState {
  readonly firstTime: number | null;
  readonly level: number | null;
  /** Slot offsets; null for a slot never seen. Null before the layout is known. */
  readonly offsets: (number | null)[] | null;
  /** Step of the 16-bit offsets (0: none chosen yet); absent when offsets were float32. */
  readonly step?: number;
}
