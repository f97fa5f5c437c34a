/** The JSON the dashboard reads from the HTTP API (docs/api.md, docs/dashboard.md). */
export type Level = 'ok' | 'alert' | 'severe';
export type EventLevel = 'alert' | 'severe';
export type Label = 'anomaly' | 'false_alarm' | 'unsure';

export interface OverviewSeries {
  readonly metric: string;
  readonly first: number;
  readonly last: number;
  readonly score?: number;
  readonly level?: Level;
  readonly strategy?: string;
  readonly value?: number;
  readonly scored_at?: number;
  /** The metric's unit (declared or implied by its name), when known. */
  readonly unit?: string;
}

export interface OverviewDevice {
  readonly device: string;
  readonly series: readonly OverviewSeries[];
  readonly events_hour: number;
  readonly events_day: number;
  readonly open_events: number;
}

export interface Overview {
  readonly now: number;
  /** One page of devices (sorted; searched when `q` was given). */
  readonly devices: readonly OverviewDevice[];
  /** Ask for the next page with this; null at the end. */
  readonly next_cursor: string | null;
  readonly totals: { devices: number; series: number };
  readonly events: { hour: number; day: number; open: number; capped: boolean };
  readonly ingest: { points_total: number; points_per_second: number | null };
}

export interface SeriesInfo {
  readonly device: string;
  readonly metric: string;
  readonly first: number;
  readonly last: number;
  /** The metric's unit: declared (`PUT /v1/units/:metric`) or implied by its name; null: none. */
  readonly unit?: string | null;
  readonly unit_source?: 'declared' | 'inferred';
}

/** `GET /v1/band`: the expected band per bucket, recomputed from the stored values. */
export interface ExpectedBandColumns {
  readonly bucket_ms: number;
  readonly times: number[];
  readonly expected: (number | null)[];
  readonly lower: (number | null)[];
  readonly upper: (number | null)[];
}

export interface BucketedPoints {
  readonly kind: 'buckets';
  readonly bucket_ms: number;
  readonly times: number[];
  readonly min: (number | null)[];
  readonly max: (number | null)[];
  readonly avg: (number | null)[];
  readonly count: number[];
}

export interface Scores {
  readonly times: number[];
  readonly score: number[];
  readonly level: Level[];
  /** Scores before this time come from storage, one per minute (absent: older servers). */
  readonly stored_before?: number;
  /**
   * The alert threshold in value space per entry (the first read in a bucket), or null: none read
   * there or none given (absent: older servers).
   */
  readonly threshold_lower?: (number | null)[];
  readonly threshold_upper?: (number | null)[];
}

export interface MetricContribution {
  readonly name: string;
  readonly share: number;
  readonly observed: number;
  readonly expected?: number;
  readonly band?: readonly [number, number];
}

export interface Explanation {
  readonly metrics: readonly MetricContribution[];
  readonly detectors: readonly { name: string; score: number }[];
}

/** An event as stored (`GET /v1/events`). */
export interface VigilEvent {
  readonly id: string;
  readonly device: string;
  readonly metric: string | null;
  readonly strategy: string;
  readonly strategy_version: number;
  readonly start: number;
  readonly end: number | null;
  readonly peak: { time: number; score: number; values: Record<string, number> };
  readonly level: EventLevel;
  readonly points: number;
  readonly explanation: Explanation | null;
  readonly label?: Label | null;
  readonly label_note?: string | null;
  /** The shadow run that raised it (docs/shadow.md); null or absent for live events. */
  readonly shadow_run?: number | null;
}

/** An event as the live stream sends it (the engine's AnomalyEvent). */
export interface LiveEvent {
  readonly id: string;
  readonly series: string;
  readonly strategy: string;
  readonly start: number;
  readonly end: number | null;
  readonly peak: { time: number; score: number; values: Record<string, number> };
  readonly level: EventLevel;
  readonly points: number;
  readonly explanation: Explanation | null;
}

export interface LiveEventMessage {
  readonly change: 'open' | 'update' | 'close' | 'reopen';
  readonly event: LiveEvent;
}

export interface LiveScore {
  readonly device_id: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly value: number;
  readonly score: number;
  readonly level: Level;
  readonly strategy: string;
  /** The alert threshold [lower, upper], at a series' first scored point of each minute. */
  readonly threshold?: readonly [number, number];
}

export interface StrategySummary {
  readonly name: string;
  readonly latest: number;
  readonly versions: readonly { version: number; created_at: number }[];
}

export interface StrategyVersion {
  readonly version: number;
  readonly created_at: number;
  readonly yaml: string;
}

export interface ActiveStrategies {
  readonly strategies: readonly { name: string; version: number }[];
  readonly default: { name: string; version: number };
}

export interface ReloadAnswer {
  readonly name: string;
  readonly version: number;
  readonly status: 'active' | 'unchanged';
  readonly moved: number;
  readonly check: { series: number; points: number; flagged: number };
}

/** A shadow run (docs/shadow.md) as `GET /v1/shadows` lists it. */
export interface ShadowRun {
  readonly id: number;
  readonly strategy: string;
  readonly version: number;
  readonly status: 'running' | 'promoted' | 'discarded';
  readonly started_at: number;
  readonly ended_at: number | null;
  readonly counters: {
    readonly points: number;
    readonly series: number;
    readonly first_time: number | null;
    readonly last_time: number | null;
    readonly active_ns_per_point: number | null;
    readonly candidate_ns_per_point: number | null;
  } | null;
}

/** One side of a shadow comparison. */
export interface ShadowSide {
  readonly points: number;
  readonly events: number;
  readonly alarms_per_10k: number | null;
  readonly ns_per_point: number | null;
  readonly overlapping: number;
  readonly overlap_share: number | null;
  readonly labelled: number;
  readonly precision: number | null;
}

export interface ShadowDetail extends ShadowRun {
  readonly comparison: {
    readonly points: number;
    readonly series: number;
    readonly first_time: number | null;
    readonly last_time: number | null;
    readonly active: ShadowSide;
    readonly candidate: ShadowSide;
    readonly mean_delay_ms: number | null;
    readonly delay_pairs: number;
  };
}

/** `POST /v1/session`: the token's name and scopes. */
export interface SignedIn {
  readonly name: string;
  readonly scopes: readonly string[];
}

/** `GET /v1/session`: auth off, or who the caller is. */
export type Session = { readonly auth: false } | ({ readonly auth: true } & SignedIn);
