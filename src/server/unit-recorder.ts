/**
 * Units the data itself declares (Prometheus remote-write metadata, an MQTT payload's `units`):
 * stored as the metric's inferred unit (source `metadata`), never over a unit declared through
 * the API or the config file, and written only when it changes, not with every message.
 */
import type { MetricUnitStore } from '../store/store.js';

export interface InferredUnit {
  readonly metric: string;
  readonly unit: string;
  readonly description: string | null;
}

/** Most metrics remembered as written; past it the memory starts again (a few more writes). */
const REMEMBERED = 10_000;

/** Writes inferred units to the store, skipping those already written unchanged. */
export class InferredUnitRecorder {
  private readonly written = new Map<string, string>();

  constructor(private readonly store: Pick<MetricUnitStore, 'setInferred'>) {}

  async record(units: readonly InferredUnit[]): Promise<void> {
    for (const u of units) {
      const key = keyOf(u);
      if (this.written.get(u.metric) === key) continue;
      // Not remembered when a declared unit kept its place: once it is removed, the next
      // message that carries this unit stores it.
      if (!(await this.store.setInferred(u.metric, u.unit, u.description))) continue;
      if (this.written.size >= REMEMBERED) this.written.clear();
      this.written.set(u.metric, key);
    }
  }
}

function keyOf(u: InferredUnit): string {
  return `${u.unit}\0${u.description ?? ''}`;
}
