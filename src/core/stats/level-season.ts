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
 * The model is a few functions on three float64 scalars (`SEASON_SCALARS`: first time, level, slot
 * count, 0 before the layout is known) and a float32 run of slot offsets, wherever the caller
 * keeps them: a detector keeps both in its one store per series (docs/detectors.md, "Memory per
 * series"). `LevelSeasonModel` is the same model with arrays of its own.
 *
 * Slot offsets are float32 (half the memory of the largest part of a series' state): an offset is a
 * deviation from the level, so float32's 7 digits are relative to the season's amplitude, not to
 * the series' magnitude (NAB scores unchanged to 10^-6). The level stays float64.
 */

/** Float64 scalars of one model: first time, level, slot count. */
export const SEASON_SCALARS = 3;
const FIRST_TIME = 0;
const LEVEL = 1;
const SLOTS = 2;

/** Sets the scalars at `s` to a new model's (or to `state`'s); the offsets are the caller's. */
export function seasonInit(scalars: Float64Array, s: number, state?: LevelSeasonState): void {
  scalars[s + FIRST_TIME] = state?.firstTime ?? Number.NaN;
  scalars[s + LEVEL] = state?.level ?? Number.NaN;
  scalars[s + SLOTS] = state?.offsets ? state.offsets.length : 0;
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

/** The predicted value at this time; NaN while its slot (or the slot layout) is unknown. */
export function seasonExpected(
  scalars: Float64Array,
  s: number,
  offsets: Float32Array,
  o: number,
  periodMs: number,
  timeMs: number,
): number {
  const slots = scalars[s + SLOTS]!;
  if (slots === 0) return Number.NaN;
  return scalars[s + LEVEL]! + offsets[o + slotOf(slots, periodMs, timeMs)]!;
}

/** Learns a point into a laid-out model (slot count > 0). */
export function seasonLearn(
  scalars: Float64Array,
  s: number,
  offsets: Float32Array,
  o: number,
  periodMs: number,
  seasonAlpha: number,
  levelAlpha: number,
  timeMs: number,
  value: number,
): void {
  const i = o + slotOf(scalars[s + SLOTS]!, periodMs, timeMs);
  const offset = offsets[i]!;
  const level = scalars[s + LEVEL]!;
  if (Number.isNaN(offset)) {
    offsets[i] = value - level;
    return;
  }
  const next = level + levelAlpha * (value - offset - level);
  scalars[s + LEVEL] = next;
  offsets[i] = offset + seasonAlpha * (value - next - offset);
}

/** JSON-safe state of the model at `s` (offsets at `o`). */
export function seasonState(
  scalars: Float64Array,
  s: number,
  offsets: Float32Array,
  o: number,
): LevelSeasonState {
  const first = scalars[s + FIRST_TIME]!;
  const level = scalars[s + LEVEL]!;
  const slots = scalars[s + SLOTS]!;
  return {
    firstTime: Number.isNaN(first) ? null : first,
    level: Number.isNaN(level) ? null : level,
    offsets:
      slots > 0
        ? Array.from(offsets.subarray(o, o + slots), (m) => (Number.isNaN(m) ? null : m))
        : null,
  };
}

/** Copies `state`'s offsets (null: never seen) into `offsets` from `o`. */
export function seasonLoadOffsets(state: LevelSeasonState, offsets: Float32Array, o: number): void {
  const from = state.offsets;
  // A loop, not Float32Array.from with a mapper: restoring a million series runs this.
  if (from) for (let i = 0; i < from.length; i++) offsets[o + i] = from[i] ?? Number.NaN;
}

function slotOf(slots: number, periodMs: number, timeMs: number): number {
  const phase = (((timeMs % periodMs) + periodMs) % periodMs) / periodMs;
  return Math.min(slots - 1, Math.floor(phase * slots));
}

/** The model with arrays of its own. */
export class LevelSeasonModel {
  private readonly scalars = new Float64Array(SEASON_SCALARS);
  private offsets: Float32Array;

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
    this.offsets = new Float32Array(seasonSlots(this.scalars, 0));
    if (state) seasonLoadOffsets(state, this.offsets, 0);
  }

  /** The predicted value at this time; NaN while its slot (or the slot layout) is unknown. */
  expected(timeMs: number): number {
    return seasonExpected(this.scalars, 0, this.offsets, 0, this.periodMs, timeMs);
  }

  learn(timeMs: number, value: number): void {
    if (seasonSlots(this.scalars, 0) === 0) {
      const slots = seasonSlotsNeeded(this.scalars, 0, this.periodMs, this.maxSlots, timeMs, value);
      if (slots === 0) return;
      this.offsets = new Float32Array(slots).fill(Number.NaN);
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
}
