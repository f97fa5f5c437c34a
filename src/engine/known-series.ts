/**
 * The series admission knows of — restored from checkpoints, replayed from the log, or accepted
 * — and the cardinality caps on them (docs/engine.md "Limits"). Admission keeps its own set
 * rather than asking the shard pool's SeriesTable because the table interns a series only when
 * scoring dispatch encodes its batch, later than admission must decide: accepted batches still
 * queued would otherwise slip past the caps. A map of `device → metric names` (the strings are
 * the points' own) costs a few hundred bytes a series at most, against the ~50 KB of detector
 * state a series holds that the caps protect.
 */
import type { ValidPoint } from './validate.js';

export interface CardinalityCaps {
  /** Most series (metrics) one device may have. */
  readonly perDevice: number;
  /** Most series in total. */
  readonly total: number;
}

export type CapReason = 'device' | 'total';

/** Points within the caps; `commit` makes their new series known (skip it to refuse them all). */
export interface Admitted {
  readonly accepted: ValidPoint[];
  commit(): void;
}

export class KnownSeries {
  private readonly devices = new Map<string, Set<string>>();
  private count = 0;

  constructor(
    private readonly caps: CardinalityCaps | undefined,
    series: Iterable<readonly [device: string, metric: string]>,
  ) {
    // Without caps nothing is tracked. Restored series are known whatever the caps: their
    // state exists already.
    if (caps === undefined) return;
    for (const [device, metric] of series) this.add(device, metric);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Split points into those whose series exist or fit within the caps, and the rest: a point
   * that would create any series beyond a cap is refused whole (`refused` gets its index among
   * `points`, the cap and why, once per point).
   */
  admit(
    points: readonly ValidPoint[],
    refused: (index: number, reason: CapReason, message: string) => void,
  ): Admitted {
    const caps = this.caps;
    if (caps === undefined) {
      return { accepted: [...points], commit: () => undefined };
    }
    const accepted: ValidPoint[] = [];
    /** New series of this batch so far, per device, not yet known. */
    const added = new Map<string, Set<string>>();
    let addedCount = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as ValidPoint;
      const known = this.devices.get(p.device_id);
      const pending = added.get(p.device_id);
      let fresh = 0;
      for (const metric in p.metrics) {
        if (known?.has(metric) !== true && pending?.has(metric) !== true) fresh++;
      }
      if (fresh === 0) {
        accepted.push(p);
        continue;
      }
      const deviceSeries = (known?.size ?? 0) + (pending?.size ?? 0) + fresh;
      if (deviceSeries > caps.perDevice) {
        refused(
          i,
          'device',
          `device ${p.device_id} would have ${deviceSeries} series, over the cap of ${caps.perDevice} (engine.max_series_per_device)`,
        );
        continue;
      }
      if (this.count + addedCount + fresh > caps.total) {
        refused(
          i,
          'total',
          `the engine holds ${this.count + addedCount} series; ${fresh} more would pass the cap of ${caps.total} (engine.max_series)`,
        );
        continue;
      }
      let set = pending;
      if (set === undefined) added.set(p.device_id, (set = new Set()));
      for (const metric in p.metrics) {
        if (known?.has(metric) !== true && !set.has(metric)) {
          set.add(metric);
          addedCount++;
        }
      }
      accepted.push(p);
    }
    return {
      accepted,
      commit: () => {
        for (const [device, metrics] of added) for (const m of metrics) this.add(device, m);
      },
    };
  }

  private add(device: string, metric: string): void {
    let set = this.devices.get(device);
    if (set === undefined) this.devices.set(device, (set = new Set()));
    if (set.has(metric)) return;
    set.add(metric);
    this.count++;
  }
}
