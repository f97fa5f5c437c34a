/** Feed items for the alert tests: events shaped as the engine emits them. Not a test itself. */
import type { AnomalyEvent, EventLevel } from '../core/events/types.js';
import type { EventFeedItem } from './incident.js';

export interface FixtureEvent {
  readonly device: string;
  readonly metric: string;
  readonly start: number;
  readonly level?: EventLevel;
  readonly score?: number;
  readonly observed?: number;
}

export function anomalyEvent(e: FixtureEvent, end: number | null = null): AnomalyEvent {
  const observed = e.observed ?? 32.45;
  return {
    id: `${e.device}/${e.metric}|default@1|${e.start}`,
    series: `${e.device}/${e.metric}`,
    strategy: 'default@1',
    start: e.start,
    end,
    peak: { time: e.start, score: e.score ?? 0.594, values: { [e.metric]: observed } },
    level: e.level ?? 'alert',
    points: 3,
    explanation: {
      metrics: [{ name: e.metric, share: 1, observed, expected: 85.76, band: [38.06, 104.9] }],
      detectors: [
        { name: 'extreme-value/lower-tail', score: e.score ?? 0.594 },
        { name: 'extreme-value/record', score: 0.432 },
      ],
    },
  };
}

/** A feed item: `change` of the event at event time `at` (close: `end` is the last flagged point). */
export function feedItem(
  e: FixtureEvent,
  change: EventFeedItem['change'],
  at: number,
  end?: number,
): EventFeedItem {
  return {
    type: 'event',
    change,
    event: anomalyEvent(e, change === 'close' ? (end ?? at) : null),
    device: e.device,
    metric: e.metric,
    at,
  };
}
