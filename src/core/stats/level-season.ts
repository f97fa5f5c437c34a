/**
 * An additive level + seasonal model (Holt–Winters without trend): the prediction for a time is
 * level + offset of that time's slot in the cycle (a day by default). The level follows slow
 * changes of the whole series; each slot's offset learns what that time of the cycle adds to it.
 *
 * The slot width follows the series' first positive sampling interval, capped at `maxSlots` slots
 * so memory stays bounded for fast series. Slots are keyed on event time modulo the period, so
 * gaps and irregular sampling are harmless. A slot seen for the first time takes its offset from
 * the current level without moving the level.
 */
export class LevelSeasonModel {
  /**
   * Slot offsets in float32 (half the memory of the largest part of a series' state): an offset
   * is a deviation from the level, so float32's 7 digits are relative to the season's amplitude,
   * not to the series' magnitude (NAB scores unchanged to 10^-6). The level stays float64.
   */
  private offsets: Float32Array | undefined;
  private firstTime = Number.NaN;
  private level = Number.NaN;

  constructor(
    readonly periodMs: number,
    /** Weight of the newest value in a slot's offset. */
    readonly seasonAlpha: number,
    /** Weight of the newest value in the level. */
    readonly levelAlpha: number,
    readonly maxSlots: number,
    state?: LevelSeasonState,
  ) {
    if (state) {
      this.firstTime = state.firstTime ?? Number.NaN;
      this.level = state.level ?? Number.NaN;
      const from = state.offsets;
      if (from) {
        // A loop, not Float32Array.from with a mapper: restoring a million series runs this.
        const offsets = (this.offsets = new Float32Array(from.length));
        for (let i = 0; i < from.length; i++) offsets[i] = from[i] ?? Number.NaN;
      }
    }
  }

  /** The predicted value at this time; NaN while its slot (or the slot layout) is unknown. */
  expected(timeMs: number): number {
    const offsets = this.offsets;
    if (offsets === undefined) return Number.NaN;
    return this.level + offsets[this.slot(offsets.length, timeMs)]!;
  }

  learn(timeMs: number, value: number): void {
    let offsets = this.offsets;
    if (offsets === undefined) {
      if (Number.isNaN(this.firstTime)) {
        this.firstTime = timeMs;
        this.level = value;
        return;
      }
      const interval = timeMs - this.firstTime;
      if (!(interval > 0)) return; // repeated first timestamp: wait for a real interval
      const slots = Math.min(this.maxSlots, Math.max(1, Math.round(this.periodMs / interval)));
      offsets = this.offsets = new Float32Array(slots).fill(Number.NaN);
    }
    const i = this.slot(offsets.length, timeMs);
    const offset = offsets[i]!;
    if (Number.isNaN(offset)) {
      offsets[i] = value - this.level;
      return;
    }
    this.level += this.levelAlpha * (value - offset - this.level);
    offsets[i] = offset + this.seasonAlpha * (value - this.level - offset);
  }

  state(): LevelSeasonState {
    return {
      firstTime: Number.isNaN(this.firstTime) ? null : this.firstTime,
      level: Number.isNaN(this.level) ? null : this.level,
      offsets: this.offsets ? Array.from(this.offsets, (m) => (Number.isNaN(m) ? null : m)) : null,
    };
  }

  private slot(slots: number, timeMs: number): number {
    const phase = (((timeMs % this.periodMs) + this.periodMs) % this.periodMs) / this.periodMs;
    return Math.min(slots - 1, Math.floor(phase * slots));
  }
}

export interface LevelSeasonState {
  readonly firstTime: number | null;
  readonly level: number | null;
  /** Slot offsets; null for a slot never seen. Null before the layout is known. */
  readonly offsets: (number | null)[] | null;
}
