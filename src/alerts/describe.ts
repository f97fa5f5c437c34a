/**
 * Human-readable text for alerts: one line per event saying what was observed, what was expected
 * and which evidence fired. Shared by the Alertmanager annotations and the webhook body.
 */
import type { AnomalyEvent } from '../core/events/types.js';
import type { Incident, IncidentMember } from './incident.js';
import { incidentMetrics } from './incident.js';

/** Numbers as people read them: at most 4 significant digits, no exponent for ordinary sizes. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Number(value.toPrecision(4)).toString();
}

/** `[lo, hi]` of the strongest metric's band, or undefined. */
export function bandOf(event: AnomalyEvent): readonly [number, number] | undefined {
  return event.explanation?.metrics[0]?.band;
}

export function observedOf(event: AnomalyEvent): number | undefined {
  const first = event.explanation?.metrics[0];
  if (first !== undefined) return first.observed;
  const values = Object.values(event.peak.values);
  return values.length === 1 ? values[0] : undefined;
}

/** e.g. `temperature = 32.45 (expected 85.76, normal 38.06 … 104.9); evidence: extreme-value/lower-tail 0.594` */
export function describeEvent(member: IncidentMember): string {
  const { event } = member;
  const parts: string[] = [];
  const metrics = event.explanation?.metrics ?? [];
  for (const m of metrics.slice(0, 3)) {
    const extra: string[] = [];
    if (m.expected !== undefined) extra.push(`expected ${formatNumber(m.expected)}`);
    if (m.band !== undefined) {
      extra.push(`normal ${formatNumber(m.band[0])} … ${formatNumber(m.band[1])}`);
    }
    if (metrics.length > 1) extra.push(`share ${Math.round(m.share * 100)}%`);
    parts.push(
      `${m.name} = ${formatNumber(m.observed)}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`,
    );
  }
  if (parts.length === 0)
    parts.push(`${member.metric ?? event.series}: score ${formatNumber(event.peak.score)}`);
  const evidence = (event.explanation?.detectors ?? [])
    .slice(0, 3)
    .map((d) => `${d.name} ${formatNumber(d.score)}`);
  const text = parts.join('; ');
  return `${event.level} by ${event.strategy}: ${text}${evidence.length > 0 ? `; evidence: ${evidence.join(', ')}` : ''}`;
}

export function summarize(incident: Incident): string {
  const metrics = incidentMetrics(incident);
  const what = metrics.length > 0 ? metrics.join(', ') : 'its metrics';
  const n = incident.members.length;
  return `${incident.device}: ${incident.level} anomaly in ${what}${n > 1 ? ` (${n} events)` : ''}`;
}

/** The dashboard's base: links are `<public_url>/#/…` (the dashboard routes on the hash). */
function dashboardBase(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/#`;
}

/** Link to an event's page on the dashboard: `<public_url>/#/events/<id>`, the id URL-encoded. */
export function eventLink(publicUrl: string, eventId: string): string {
  return `${dashboardBase(publicUrl)}/events/${encodeURIComponent(eventId)}`;
}

/** Link to an incident's page: `<public_url>/#/incidents/<id>`, the id URL-encoded. */
export function incidentLink(publicUrl: string, incidentId: string): string {
  return `${dashboardBase(publicUrl)}/incidents/${encodeURIComponent(incidentId)}`;
}
