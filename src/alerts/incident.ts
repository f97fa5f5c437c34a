/**
 * Alert grouping: the event changes of one device that come close together in event time become
 * one *incident*, and sinks notify per incident, not per event — a pump whose current, pressure
 * and temperature all go wrong at once pages once. Pure and deterministic: decided on event time
 * and feed order only, no wall clock (docs/alerts.md, "Grouping").
 */
import type { AnomalyEvent, EventLevel } from '../core/events/types.js';
import type { EngineFeedItem } from '../engine/engine.js';

/** An event change as the engine's live feed delivers it. */
export type EventFeedItem = Extract<EngineFeedItem, { type: 'event' }>;

export interface IncidentMember {
  /** The event as it stands after its latest change. */
  readonly event: AnomalyEvent;
  /** Null for a device-level (multivariate) event. */
  readonly metric: string | null;
  /** False once the event has closed (until it reopens). */
  readonly open: boolean;
}

export interface Incident {
  /** `<device>|<start of the event that opened it>`: deterministic, a replay gives the same ids. */
  readonly id: string;
  readonly device: string;
  /** Firing while any member event is open. */
  readonly status: 'firing' | 'resolved';
  /** Event time (ms) of the earliest member's first flagged point. */
  readonly first: number;
  /** Event time (ms) of the latest flagged point of any member. */
  readonly last: number;
  /** When resolved, the latest member end (event time); null while firing. */
  readonly end: number | null;
  /** The highest level of any member. */
  readonly level: EventLevel;
  /** In the order they joined. */
  readonly members: readonly IncidentMember[];
}

/**
 * - `open`: a new incident (its first event opened);
 * - `update`: a member changed, joined, or closed while others stay open;
 * - `resolve`: the last open member closed;
 * - `reopen`: a resolved incident fires again (a member reopened, or a new event joined within
 *   the window).
 */
export type IncidentChangeType = 'open' | 'update' | 'resolve' | 'reopen';

export interface IncidentChange {
  readonly type: IncidentChangeType;
  readonly incident: Incident;
  /** The event change that caused it. */
  readonly cause: EventFeedItem;
}

interface MutableIncident {
  id: string;
  device: string;
  first: number;
  last: number;
  members: Map<string, IncidentMember>;
}

const RANK: Record<EventLevel, number> = { alert: 1, severe: 2 };

/** Event time of the latest flagged point a change tells about. */
function flaggedTime(item: EventFeedItem): number {
  return item.change === 'close' ? (item.event.end ?? item.at) : item.at;
}

export class IncidentGrouper {
  /** The current (latest) incident per device; one per device is all the join rule needs. */
  readonly #current = new Map<string, MutableIncident>();

  /**
   * @param windowMs an event joins a device's incident while the incident fires, or when its
   *   change comes at most this long (event time) after the incident's latest flagged point.
   */
  constructor(private readonly windowMs: number) {
    if (!Number.isFinite(windowMs) || windowMs < 0) {
      throw new RangeError(
        `grouping window must be a non-negative number of ms, found ${windowMs}`,
      );
    }
  }

  /** Apply one event change; returns what it did to its incident. */
  apply(item: EventFeedItem): IncidentChange {
    const { event, device } = item;
    const at = flaggedTime(item);
    let incident = this.#current.get(device);
    const joins =
      incident !== undefined &&
      (incident.members.has(event.id) || isFiring(incident) || at <= incident.last + this.windowMs);
    let type: IncidentChangeType;
    if (!joins || incident === undefined) {
      incident = {
        id: `${device}|${event.start}`,
        device,
        first: event.start,
        last: at,
        members: new Map(),
      };
      this.#current.set(device, incident);
      type = 'open';
    } else {
      type = isFiring(incident) ? 'update' : 'reopen';
    }
    const open = item.change !== 'close';
    incident.members.set(event.id, { event, metric: item.metric, open });
    incident.first = Math.min(incident.first, event.start);
    incident.last = Math.max(incident.last, at);
    const firing = isFiring(incident);
    if (type === 'update' && !firing) type = 'resolve';
    // A change that leaves a resolved incident resolved (a late close of an event never seen
    // open, e.g. after a restart) is reported as an update of the resolved incident.
    if (type === 'reopen' && !firing) type = 'update';
    if (type === 'open' && !firing) type = 'resolve';
    return { type, incident: snapshot(incident, firing), cause: item };
  }

  /** The current incident of every device (firing or not), for inspection and tests. */
  incidents(): Incident[] {
    return [...this.#current.values()].map((i) => snapshot(i, isFiring(i)));
  }
}

function isFiring(incident: MutableIncident): boolean {
  for (const m of incident.members.values()) if (m.open) return true;
  return false;
}

function snapshot(incident: MutableIncident, firing: boolean): Incident {
  const members = [...incident.members.values()];
  let level: EventLevel = 'alert';
  let end = -Infinity;
  for (const m of members) {
    if (RANK[m.event.level] > RANK[level]) level = m.event.level;
    end = Math.max(end, m.event.end ?? m.event.start);
  }
  return Object.freeze({
    id: incident.id,
    device: incident.device,
    status: firing ? 'firing' : 'resolved',
    first: incident.first,
    last: incident.last,
    end: firing ? null : end,
    level,
    members: Object.freeze(members),
  });
}

/** The member with the highest peak score: what a one-line summary talks about. */
export function strongestMember(incident: Incident): IncidentMember {
  let best = incident.members[0]!;
  for (const m of incident.members) if (m.event.peak.score > best.event.peak.score) best = m;
  return best;
}

/** Member metric names (device-level members: the metrics of their explanation), unique, sorted. */
export function incidentMetrics(incident: Incident): string[] {
  const names = new Set<string>();
  for (const m of incident.members) {
    if (m.metric !== null) names.add(m.metric);
    else for (const c of m.event.explanation?.metrics ?? []) names.add(c.name);
  }
  return [...names].sort();
}
