/**
 * A seasonal-naive predictor: the period (a day by default) is cut into slots and each slot keeps
 * an exponentially weighted mean of the values that fell in it, so the prediction for a time is
 * "what this time of the cycle usually looks like". The slot width follows the series' first
 * positive sampling interval, capped at `maxSlots` slots so memory stays bounded for fast series.
 * Slots are keyed on event time modulo the period, so gaps and irregular sampling are harmless.
 */
export class SeasonalProfile {
  private means: Float64Array | undefined;
  private firstTime = Number.NaN;
  private firstValue = Number.NaN;

  constructor(
    readonly periodMs: number,
    readonly alpha: number,
    readonly maxSlots: number,
    state?: SeasonalProfileState,
  ) {
    if (state) {
      this.firstTime = state.firstTime ?? Number.NaN;
      this.firstValue = state.firstValue ?? Number.NaN;
      if (state.means) this.means = Float64Array.from(state.means, (m) => m ?? Number.NaN);
    }
  }

  /** x minus the slot's mean; NaN while the slot (or the slot layout) is not known yet. */
  residual(timeMs: number, value: number): number {
    const means = this.means;
    if (means === undefined) return Number.NaN;
    return value - means[this.slot(means.length, timeMs)]!;
  }

  learn(timeMs: number, value: number): void {
    let means = this.means;
    if (means === undefined) {
      if (Number.isNaN(this.firstTime)) {
        this.firstTime = timeMs;
        this.firstValue = value;
        return;
      }
      const interval = timeMs - this.firstTime;
      if (!(interval > 0)) return; // repeated first timestamp: wait for a real interval
      const slots = Math.min(this.maxSlots, Math.max(1, Math.round(this.periodMs / interval)));
      means = this.means = new Float64Array(slots).fill(Number.NaN);
      means[this.slot(slots, this.firstTime)] = this.firstValue;
    }
    const i = this.slot(means.length, timeMs);
    const mean = means[i]!;
    means[i] = Number.isNaN(mean) ? value : mean + this.alpha * (value - mean);
  }

  state(): SeasonalProfileState {
    return {
      firstTime: Number.isNaN(this.firstTime) ? null : this.firstTime,
      firstValue: Number.isNaN(this.firstValue) ? null : this.firstValue,
      means: this.means ? Array.from(this.means, (m) => (Number.isNaN(m) ? null : m)) : null,
    };
  }

  private slot(slots: number, timeMs: number): number {
    const phase = (((timeMs % this.periodMs) + this.periodMs) % this.periodMs) / this.periodMs;
    return Math.min(slots - 1, Math.floor(phase * slots));
  }
}

export interface SeasonalProfileState {
  readonly firstTime: number | null;
  /** The first value, held until the second point fixes the slot layout. */
  readonly firstValue: number | null;
  /** Slot means; null for a slot never seen. Null before the layout is known. */
  readonly means: (number | null)[] | null;
}
