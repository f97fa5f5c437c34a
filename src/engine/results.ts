/**
 * Where a shard's results go: counts of scored and not-scored points, scores to the feed, event
 * changes to the metrics, the event writer and — once stored — the feed, in row order. Shadow events are stored
 * only: never on the feed, so never alerted.
 */
import type { EngineFeedItem, ScoredPoint } from './engine.js';
import type { EventWriter } from './event-writer.js';
import type { Feed } from './feed.js';
import type { EngineMetrics } from './metrics.js';
import {
  LEVELS,
  NOT_SCORED,
  type ShardBand,
  type ShardEvent,
  type ShardResult,
} from './scoring/protocol.js';
import type { SeriesTable } from './scoring/series-table.js';

const NO_BANDS: readonly ShardBand[] = [];

export class ResultRouter {
  private scored = 0;
  private notScored = 0;

  constructor(
    private readonly table: SeriesTable,
    private readonly feed: Feed,
    private readonly events: EventWriter,
    private readonly metrics: EngineMetrics | undefined,
  ) {}

  stats(): { readonly scored: number; readonly notScored: number } {
    return { scored: this.scored, notScored: this.notScored };
  }

  route(shard: number, result: ShardResult): void {
    const { batch, scores, levels, strategy, labels, events } = result;
    const bands = result.bands ?? NO_BANDS;
    const n = levels.length;
    let notScored = 0;
    for (let r = 0; r < n; r++) if (levels[r] === NOT_SCORED) notScored++;
    this.notScored += notScored;
    this.scored += n - notScored;
    if (this.feed.listening || events.length > 0) {
      const names = this.table.names[shard];
      let e = 0;
      let b = 0;
      for (let r = 0; r < n; r++) {
        const level = levels[r] as number;
        if (level !== NOT_SCORED && this.feed.listening && names !== undefined) {
          const name = LEVELS[level] as ScoredPoint['level'];
          while (b < bands.length && (bands[b] as ShardBand).row < r) b++;
          const band = b < bands.length && (bands[b] as ShardBand).row === r ? bands[b] : undefined;
          // A point with a threshold takes from the `ok` budget like any other: letting them all
          // through would be one feed item (and one stored minute) per series and minute, which
          // a large fleet cannot afford (docs/dashboard.md, "Score history").
          if (this.feed.admits(name)) {
            const id = batch.ids[r] as number;
            const point: ScoredPoint = {
              device_id: names.device[id] as string,
              metric: names.metric[id] as string,
              timestamp: batch.times[r] as number,
              value: batch.values[r] as number,
              score: scores[r] as number,
              level: name,
              strategy: labels[strategy[r] as number] as string,
            };
            this.feed.emit({
              type: 'score',
              point: band === undefined ? point : { ...point, threshold: [band.lower, band.upper] },
            });
          }
        }
        while (e < events.length && (events[e] as ShardEvent).row === r) {
          this.event(events[e] as ShardEvent);
          e++;
        }
      }
      for (; e < events.length; e++) this.event(events[e] as ShardEvent);
    }
    if (result.shadowEvents !== undefined) {
      for (const e of result.shadowEvents) this.events.add(e.stored);
    }
  }

  /** An event change: counted, stored, then on the feed (nothing names an event not yet stored). */
  event(e: ShardEvent): void {
    this.metrics?.event(e.event.level, e.change);
    const item: EngineFeedItem = {
      type: 'event',
      change: e.change,
      event: e.event,
      device: e.stored.device,
      metric: e.stored.metric,
      at: e.at,
      ...(e.reason === undefined ? {} : { reason: e.reason }),
    };
    this.events.add(e.stored, () => this.feed.emit(item));
    // Written now rather than at the next commit: alerts wait for it. A failed write is retried
    // with the next (commits and checkpoints flush too), its feed items held until then.
    this.events.flush().catch(() => undefined);
  }
}
