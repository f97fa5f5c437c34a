/**
 * Incidents as stored state (docs/alerts.md, "Incidents"): what alert grouping decided (device,
 * member events and metrics, level, event-time span, firing or resolved) together with what
 * people did about it (acknowledged by whom, assignee, comments, resolved by hand). Grouping
 * owns the first part and rewrites it on every change; people own the second and grouping never
 * overwrites it, except that an incident firing again after it was resolved is unacknowledged.
 */
import type { EventLevel } from '../core/events/types.js';
import type { Page, Tags } from '../store/store.js';

/** `firing` → `acknowledged` (by a person) → `resolved` (every member closed, or by a person). */
export type IncidentState = 'firing' | 'acknowledged' | 'resolved';
export const INCIDENT_STATES: readonly IncidentState[] = ['firing', 'acknowledged', 'resolved'];

export interface IncidentComment {
  /** Assigned by the store, increasing. */
  readonly id: number;
  /** The token name of who wrote it; null when authentication is off. */
  readonly by: string | null;
  readonly text: string;
  /** Wall clock, ms. */
  readonly at: number;
}

export interface StoredIncident {
  /** `<device>|<start of the event that opened it>` (src/alerts/incident.ts). */
  readonly id: string;
  readonly device: string;
  /** Metrics of the member events, sorted. */
  readonly metrics: readonly string[];
  readonly level: EventLevel;
  readonly state: IncidentState;
  /** Event time (ms): the earliest member's start ("firing since"). */
  readonly first: number;
  /** Event time (ms) of the latest flagged point of any member. */
  readonly last: number;
  /** Event time (ms) the last member closed; null while any member is open. */
  readonly end: number | null;
  /** Member event ids in the order they joined. */
  readonly eventIds: readonly string[];
  /** The device's point tags when the incident was recorded (`{}` when none were known). */
  readonly tags: Tags;
  readonly acknowledgedBy: string | null;
  /** Wall clock, ms. */
  readonly acknowledgedAt: number | null;
  readonly assignee: string | null;
  /** Who resolved it by hand; null when it resolved on its own (or is open). */
  readonly resolvedBy: string | null;
  /** Wall clock, ms. */
  readonly resolvedAt: number | null;
  /** Wall clock, ms, of the last change of any kind. */
  readonly updatedAt: number;
  /** Oldest first; `list` leaves them out (empty), `get` has them all. */
  readonly comments: readonly IncidentComment[];
}

/** What grouping tells the store about an incident (one change). */
export interface IncidentRecord {
  readonly id: string;
  readonly device: string;
  readonly metrics: readonly string[];
  readonly level: EventLevel;
  /** The grouping's view: firing while any member is open. */
  readonly status: 'firing' | 'resolved';
  /** `open`/`reopen`: firing afresh, so a resolved incident fires (and is unacknowledged) again. */
  readonly change: 'open' | 'update' | 'resolve' | 'reopen';
  readonly first: number;
  readonly last: number;
  readonly end: number | null;
  readonly eventIds: readonly string[];
}

export interface IncidentsQuery {
  readonly device?: string;
  /** Only incidents whose tags hold this key with this value. */
  readonly tag?: { readonly key: string; readonly value: string };
  /** `open`: firing or acknowledged. */
  readonly state?: IncidentState | 'open';
  /** Incidents overlapping [from, to) in event time (an open one extends to infinity). */
  readonly from?: number;
  readonly to?: number;
  /** Newest `first` first; 1 to 10,000, default 100. */
  readonly limit?: number;
  /** The last incident of the previous page. */
  readonly after?: { readonly first: number; readonly id: string };
}

export interface IncidentStore {
  /**
   * Insert or update what grouping decided; people's facts are kept. Returns the incident as
   * stored. @throws VIGIL_ERR_STORE_INVALID for a malformed record (nothing written).
   */
  record(incident: IncidentRecord): Promise<StoredIncident>;
  get(id: string): Promise<StoredIncident | undefined>;
  list(query?: IncidentsQuery): Promise<Page<StoredIncident>>;
  /**
   * Mark an open incident acknowledged by `by` (a resolved one stays resolved). Returns the
   * incident, undefined when there is none with that id.
   */
  acknowledge(id: string, by: string | null): Promise<StoredIncident | undefined>;
  /** Set (or with null clear) the assignee. */
  assign(id: string, assignee: string | null): Promise<StoredIncident | undefined>;
  /** Add a comment (at most 10,000 characters). */
  comment(id: string, text: string, by: string | null): Promise<StoredIncident | undefined>;
  /** Resolve by hand (idempotent: a resolved incident keeps who and when). */
  resolve(id: string, by: string | null): Promise<StoredIncident | undefined>;
}
