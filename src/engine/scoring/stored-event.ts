/**
 * An event change as the store keeps it: the event, named by device, metric (null for a device
 * group) and strategy version, its explanation copied to plain JSON. `start`/`end` are the
 * tracker's span (first flagged point to the first point back to normal), the same as on the feed
 * and in `vigil detect`; the metrics involved are those of the explanation.
 */
import type { EventChange } from '../../core/events/types.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { JsonValue, StoredEvent } from '../../store/store.js';

export function toStoredEvent(
  change: Pick<EventChange, 'event'>,
  device: string,
  metric: string | null,
  strategy: Pick<Strategy, 'name' | 'version'>,
): StoredEvent {
  const e = change.event;
  return {
    id: e.id,
    device,
    metric,
    strategy: strategy.name,
    strategyVersion: strategy.version,
    start: e.start,
    end: e.end,
    peak: { time: e.peak.time, score: e.peak.score, values: e.peak.values },
    level: e.level,
    points: e.points,
    explanation:
      e.explanation === null ? null : (JSON.parse(JSON.stringify(e.explanation)) as JsonValue),
  };
}
