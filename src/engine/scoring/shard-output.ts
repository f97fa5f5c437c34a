/**
 * What a shard hands back for a batch (or a swap): a score, level code and strategy label index
 * per row, the event changes in order, and the alert thresholds read (a few rows only). `reset` allocates fresh arrays, so a result already
 * sent keeps its own.
 */
import type { EventChange } from '../../core/events/types.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { Level } from '../../core/thresholds/threshold.js';
import type { EventReason, ShardBand, ShardEvent } from './protocol.js';
import { toStoredEvent } from './stored-event.js';

/** Index into protocol.ts's LEVELS. */
export const LEVEL_CODE: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };

export class ShardOutput {
  scores = new Float64Array(0);
  levels = new Uint8Array(0);
  strategyOf = new Uint16Array(0);
  events: ShardEvent[] = [];
  bands: ShardBand[] = [];

  reset(rows: number): void {
    this.scores = new Float64Array(rows);
    this.levels = new Uint8Array(rows);
    this.strategyOf = new Uint16Array(rows);
    this.events = [];
    this.bands = [];
  }

  /** Record a row's alert threshold in value space. */
  band(row: number, lower: number, upper: number): void {
    this.bands.push({ row, lower, upper });
  }

  /** Record an event change; `row` is −1 for a change outside scoring (a swap). */
  event(
    row: number,
    change: EventChange,
    device: string,
    metric: string | null,
    strategy: Strategy,
    reason?: EventReason,
  ): void {
    this.events.push({
      row,
      change: change.type,
      at: change.at,
      event: change.event,
      stored: toStoredEvent(change, device, metric, strategy),
      ...(reason === undefined ? {} : { reason }),
    });
  }
}
