/**
 * The JSON body a webhook receives for one incident change (schema: docs/alerts.md, "Webhook
 * body"). Field names are snake_case like the HTTP API; times are event time, ms since the epoch.
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '../store/store.js';
import { describeEvent, eventLink, incidentLink, summarize } from './describe.js';
import type { IncidentChange } from './incident.js';
import { incidentMetrics } from './incident.js';

export const WEBHOOK_BODY_VERSION = 1;

/**
 * The delivery id: the same for every attempt of one delivery, and the same again when a replay
 * produces the same change, so receivers can drop duplicates.
 */
export function deliveryId(sink: string, change: IncidentChange): string {
  const { cause } = change;
  return createHash('sha256')
    .update([sink, change.incident.id, cause.event.id, cause.change, String(cause.at)].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

export function webhookBody(
  sink: string,
  id: string,
  change: IncidentChange,
  publicUrl: string,
): JsonValue {
  const { incident, cause } = change;
  const event = cause.event;
  const member = incident.members.find((m) => m.event.id === event.id);
  return {
    version: WEBHOOK_BODY_VERSION,
    delivery_id: id,
    sink,
    change: change.type,
    incident: {
      id: incident.id,
      device: incident.device,
      status: incident.status,
      level: incident.level,
      first: incident.first,
      last: incident.last,
      end: incident.end,
      summary: summarize(incident),
      link: incidentLink(publicUrl, incident.id),
      metrics: incidentMetrics(incident),
      members: incident.members.map((m) => ({
        event_id: m.event.id,
        metric: m.metric,
        strategy: m.event.strategy,
        level: m.event.level,
        open: m.open,
        start: m.event.start,
        end: m.event.end,
        peak_score: m.event.peak.score,
        link: eventLink(publicUrl, m.event.id),
      })),
    },
    event: {
      change: cause.change,
      at: cause.at,
      id: event.id,
      device: cause.device,
      metric: cause.metric,
      series: event.series,
      strategy: event.strategy,
      start: event.start,
      end: event.end,
      level: event.level,
      points: event.points,
      peak: { time: event.peak.time, score: event.peak.score, values: { ...event.peak.values } },
      explanation:
        event.explanation === null
          ? null
          : (JSON.parse(JSON.stringify(event.explanation)) as JsonValue),
      description: member === undefined ? '' : describeEvent(member),
      link: eventLink(publicUrl, event.id),
    },
  };
}
