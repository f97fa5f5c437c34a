/**
 * Events: what users are alerted about. A strategy's scores and levels (one per point) become
 * anomaly spans — one event per fault, from its first abnormal point until the data are back to
 * normal, not one per flagged point — each carrying the explanation of its strongest point.
 * Repeated events of one device are grouped into incidents elsewhere (src/alerts). The state machine is `EventTracker` (event-tracker.ts);
 * the rules it applies are the strategy's `events` section (params.ts); docs/events.md.
 */

/** The level of an event: the opening level, or the highest seen when `severe_upgrade` is on. */
export type EventLevel = 'alert' | 'severe';

/** One metric's part in the anomaly at the event's peak. */
export interface MetricContribution {
  readonly name: string;
  /** Share of the anomaly in [0, 1]; the shares of an explanation sum to 1 (1 for one metric). */
  readonly share: number;
  /** The value observed at the peak. */
  readonly observed: number;
  /** What the detector expected instead, when it can say (e.g. the usual value at this hour). */
  readonly expected?: number;
  /** Values the detector would not have flagged, [lower, upper], when it has such a band. */
  readonly band?: readonly [number, number];
}

/** A detector, or one piece of a detector's evidence, and its score in [0, 1] at the peak. */
export interface DetectorContribution {
  /** `<kind>` for a whole detector, `<kind>/<evidence>` for a piece, e.g. `extreme-value/upper-tail`. */
  readonly name: string;
  readonly score: number;
}

/** Why an event was raised, computed once for its peak point. */
export interface EventExplanation {
  /** Strongest share first. */
  readonly metrics: readonly MetricContribution[];
  /** Strongest score first. */
  readonly detectors: readonly DetectorContribution[];
}

/** The event's strongest point. */
export interface EventPeak {
  /** Event time in ms. */
  readonly time: number;
  readonly score: number;
  /** Observed value per metric at the peak (from the explanation; empty without one). */
  readonly values: Readonly<Record<string, number>>;
}

/**
 * One anomaly span of one series (or device, for multivariate strategies) under one strategy:
 * the points from `start` up to (not including) `end`. Plain JSON. Every emitted event is a fresh
 * immutable object: keep it, never patch it.
 */
export interface AnomalyEvent {
  /** `<series>|<strategy>|<start>`: deterministic, so a replay gives the same ids. */
  readonly id: string;
  /** Series key (`device/metric`) or device. */
  readonly series: string;
  /** `name@version` of the strategy that raised it. */
  readonly strategy: string;
  /** The device: of the series key `device/metric`, or the device key of a vector strategy. */
  readonly device?: string;
  /**
   * The metrics involved: those with a share of at least 0.1 in any explanation the event's peak
   * had (first seen first), or the series' own metric. Absent on events of older versions.
   */
  readonly metrics?: readonly string[];
  /** Event time (ms) of the first flagged point: where the fault starts. */
  readonly start: number;
  /**
   * Event time (ms) of the first point back to normal (the span is [start, end)), or of the last
   * point when the stream ended while the data were still abnormal (then that point is inside).
   * Null while the event is open. `end − start` is the fault's duration.
   */
  readonly end: number | null;
  readonly peak: EventPeak;
  readonly level: EventLevel;
  /** Flagged (alert or severe) points in the event; its span may hold more abnormal points. */
  readonly points: number;
  /** The explanation of the peak point; null when the caller gave no `explain`. */
  readonly explanation: EventExplanation | null;
}

/**
 * What happened to an event at one point:
 * - `open`: a new event passed the minimum duration (it starts at its first flagged point);
 * - `update`: an open event's peak or level changed;
 * - `close`: the data were back to normal long enough (hysteresis); `end` is set;
 * - `reopen`: no longer raised (events do not merge over a cool-down any more; incidents group
 *   them); kept in the type because stored feeds and older consumers know it.
 */
export type EventChangeType = 'open' | 'update' | 'close' | 'reopen';

export interface EventChange {
  readonly type: EventChangeType;
  /** Event time (ms) of the point that caused the change. */
  readonly at: number;
  /** The event as it stands after the change. */
  readonly event: AnomalyEvent;
}
