import { z } from 'zod';

/**
 * A bounded, deterministic sample of a stream of fixed-width records (a training period's errors
 * or scores): every `stride`-th record is kept; when `capacity` records are held, every other one
 * is dropped and the stride doubles. So a training period of any length keeps between half and
 * all of `capacity` records spread evenly over it, and snapshots stay small.
 */
export interface ThinnedSampleState {
  readonly values: number[];
  readonly stride: number;
  /** Records offered so far. */
  readonly offered: number;
}

export const thinnedSampleStateSchema: z.ZodType<ThinnedSampleState> = z.object({
  values: z.array(z.number()),
  stride: z.number().int().positive(),
  offered: z.number().int().min(0),
});

export class ThinnedSample {
  private values: number[];
  private stride: number;
  private offered: number;

  constructor(
    private readonly width: number,
    private readonly capacity: number,
    state?: ThinnedSampleState,
  ) {
    this.values = [...(state?.values ?? [])];
    this.stride = state?.stride ?? 1;
    this.offered = state?.offered ?? 0;
  }

  /** Records held. */
  get size(): number {
    return this.values.length / this.width;
  }

  /** Offer one record (`width` numbers from `record`). */
  offer(record: ArrayLike<number>): void {
    const index = this.offered++;
    if (index % this.stride !== 0) return;
    const w = this.width;
    if (this.values.length >= this.capacity * w) {
      const thinned: number[] = [];
      for (let k = 0; k < this.values.length; k += 2 * w) {
        for (let i = 0; i < w; i++) thinned.push(this.values[k + i] as number);
      }
      this.values = thinned;
      this.stride *= 2;
      if (index % this.stride !== 0) return;
    }
    for (let i = 0; i < w; i++) this.values.push(record[i] as number);
  }

  /** Record `r`'s entry `i`. */
  at(r: number, i = 0): number {
    return this.values[r * this.width + i] as number;
  }

  clear(): void {
    this.values = [];
    this.stride = 1;
    this.offered = 0;
  }

  state(): ThinnedSampleState {
    return { values: [...this.values], stride: this.stride, offered: this.offered };
  }
}
