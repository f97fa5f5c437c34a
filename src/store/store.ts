/**
 * The storage contracts: what the engine, the server and the CLI may ask of a store. Two
 * implementations share one SQL dialect — PGlite (embedded, the default) and a PostgreSQL server,
 * with or without TimescaleDB — and pass one shared test suite (store-suite.ts); nothing here
 * depends on which one is behind it.
 *
 * Units everywhere: times are milliseconds since the Unix epoch (UTC, integers for point times);
 * bucket sizes are milliseconds; values are float64. A *series* is (device, metric).
 *
 * Thread safety: a store may be used from many async tasks at once. An `Appender` is single-use
 * and belongs to one task. Every method either completes or throws a `VigilError` with a
 * `VIGIL_ERR_STORE_*` code (docs/errors.md) — never a driver error.
 */
import type { EncodedRows } from './copy-text.js';
import type { EventLevel } from '../core/events/types.js';
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import type { IncidentStore } from '../incidents/types.js';
import type { StateHead } from './state-codec.js';

export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Point tags: free-form labels (`site`, `line`, …); stored as JSON, not indexed. */
export type Tags = Readonly<Record<string, string>>;

/**
 * A batch of points in columns: row `i` is `(devices[i], metrics[i], times[i], values[i],
 * tags?.[i])`. All columns have the same length.
 * - `times`: integer ms since the epoch (event time).
 * - `values`: a non-finite value (NaN, ±Infinity) is stored as SQL NULL — the point exists but
 *   has no number; aggregates skip it and `count` does not count it.
 * - `devices`, `metrics`: non-empty, at most 200 characters, no NUL character.
 */
export interface PointBatch {
  readonly devices: ArrayLike<string>;
  readonly metrics: ArrayLike<string>;
  readonly times: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  readonly tags?: ArrayLike<Tags | undefined>;
}

export interface CommitResult {
  /** Points handed to `append` since the appender was created. */
  readonly points: number;
  /** Points that were new; the others were already stored (or repeated within the batch). */
  readonly inserted: number;
}

/**
 * Single-use, transactional writer of points (Prometheus' appender). `append` validates and
 * encodes the batch at once — the caller may reuse its arrays as soon as `append` returns — and
 * holds it in memory; `commit` writes everything appended in ONE database transaction: after it
 * resolves, all points are durable, and if it rejects none of them is stored. `rollback` drops
 * what was appended. After a successful `commit` or a `rollback` the appender refuses further use.
 *
 * Idempotency: a point's identity is (device, metric, time). Appending a point that is already
 * stored — again, in the same batch, or with another value — never duplicates it: the FIRST
 * committed value wins and later ones are ignored (`inserted` tells how many were new). Retrying
 * a commit whose outcome is unknown (e.g. the connection dropped) is therefore always safe.
 */
export interface Appender {
  /** @throws VIGIL_ERR_STORE_INVALID naming the first bad row; nothing of that batch is kept. */
  append(batch: PointBatch): void;
  /** Rows already validated and encoded by `encodeRows` (e.g. read back from a spool). */
  appendEncoded(rows: EncodedRows): void;
  /** Points appended and not yet committed. */
  readonly pending: number;
  /**
   * @throws VIGIL_ERR_STORE_WRITE: nothing was stored. VIGIL_ERR_STORE_UNAVAILABLE: the
   * connection was lost, so if that happened during COMMIT the outcome is unknown. Either way
   * the appender stays open with the same points: `commit` again (safe, see above) or `rollback`.
   */
  commit(): Promise<CommitResult>;
  rollback(): void;
}

export interface SeriesInfo {
  readonly device: string;
  readonly metric: string;
  /**
   * Earliest and latest point time stored for the series. After retention dropped the oldest
   * points, `first` is the oldest point left (docs/storage.md, "Series extents").
   */
  readonly first: number;
  readonly last: number;
}

export interface PointsQuery {
  readonly device: string;
  readonly metric: string;
  /** Range [from, to) in ms. */
  readonly from: number;
  readonly to: number;
  /**
   * Down-sample into buckets of this many ms, aligned to the epoch. The range is widened to
   * whole buckets (`from` rounded down, `to` up), so every bucket returned is complete. Empty
   * buckets are omitted. Without it the raw points come back.
   */
  readonly bucketMs?: number;
  /** Raw points only: the most to return, oldest first (default 100,000). */
  readonly limit?: number;
  /**
   * `auto` (default) answers bucketed queries from TimescaleDB continuous aggregates when the
   * bucket is a multiple of 1 min or 1 h; `raw` always aggregates the points themselves.
   */
  readonly source?: 'auto' | 'raw';
}

export interface RawPoints {
  readonly kind: 'raw';
  readonly times: Float64Array;
  /** NaN where the stored value is NULL. */
  readonly values: Float64Array;
  /** True when `limit` cut the answer short: ask again from `times[last] + 1`. */
  readonly truncated: boolean;
}

export interface BucketedPoints {
  readonly kind: 'buckets';
  readonly bucketMs: number;
  /** Bucket start times, ascending. */
  readonly times: Float64Array;
  /** Per bucket; NaN where the bucket holds only NULL values (then `count` is 0). */
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly avg: Float64Array;
  /** Points with a value in the bucket. */
  readonly count: Float64Array;
  /** Where the answer came from: `points`, or a continuous aggregate (`points_1m`, `points_1h`). */
  readonly source: 'points' | 'points_1m' | 'points_1h';
}

export type { EventLevel };

/**
 * An anomaly span as stored. `id` is chosen by the engine and stable (a replay gives the same
 * ids); writing an event with a known id replaces the stored one — an open event is written
 * again when its end, peak or level changes.
 */
export interface StoredEvent {
  readonly id: string;
  readonly device: string;
  /** Null for a device-level (multivariate) event. */
  readonly metric: string | null;
  readonly strategy: string;
  readonly strategyVersion: number;
  /**
   * The event's span (docs/events.md): event times (ms) of its first flagged point and of the
   * first point back to normal; `end` is null while open.
   */
  readonly start: number;
  readonly end: number | null;
  readonly peak: {
    readonly time: number;
    readonly score: number;
    /** Observed value per metric at the peak. */
    readonly values: Readonly<Record<string, number>>;
  };
  readonly level: EventLevel;
  /** Flagged points in the event. */
  readonly points: number;
  readonly explanation: JsonValue | null;
  /**
   * The feedback label, present only on labelled events (docs/labels.md). Set through
   * `EventStore.setLabel`; `upsert` ignores it and never changes a stored label.
   */
  readonly label?: EventLabelInfo;
  /**
   * Present only on events of a shadow run (docs/shadow.md): the run's id. Such events are
   * stored and compared, never alerted, and left out of default listings and label summaries.
   */
  readonly shadowRun?: number;
}

/** What a person said about an event: a real anomaly, a false alarm, or not sure. */
export type EventLabel = 'anomaly' | 'false_alarm' | 'unsure';
export const EVENT_LABELS: readonly EventLabel[] = ['anomaly', 'false_alarm', 'unsure'];

export interface EventLabelInfo {
  readonly label: EventLabel;
  /** Free text, at most 2,000 characters. */
  readonly note: string | null;
  /** When the label was set (wall clock, ms). */
  readonly at: number;
  /** Who set it, when known (at most 200 characters). */
  readonly by: string | null;
}

/** Per-strategy counts of labelled events, and the precision they give. */
export interface LabelSummary {
  /** Strategy name (all versions together). */
  readonly strategy: string;
  /** Events stored for the strategy, labelled or not. */
  readonly events: number;
  readonly labelled: number;
  readonly anomaly: number;
  readonly falseAlarm: number;
  readonly unsure: number;
  /** anomaly / (anomaly + falseAlarm); null when neither was given. `unsure` does not count. */
  readonly precision: number | null;
}

export interface EventsQuery {
  readonly device?: string;
  readonly metric?: string;
  /** Strategy name (any version). */
  readonly strategy?: string;
  /** `alert` (default) returns alert and severe events, `severe` only severe ones. */
  readonly minLevel?: EventLevel;
  /** Events overlapping [from, to) in ms; an open event extends to infinity. */
  readonly from?: number;
  readonly to?: number;
  /** Newest start first; default 100, at most 10,000. */
  readonly limit?: number;
  /** Only events with this label; `none`: unlabelled ones, `any`: labelled ones. */
  readonly label?: EventLabel | 'none' | 'any';
  /**
   * Shadow-run events (docs/shadow.md): `exclude` (default) leaves them out, `include` lists
   * them with the others, `only` lists nothing else. `shadowRun` narrows to one run (and implies
   * `only` unless `include` is given).
   */
  readonly shadow?: 'exclude' | 'include' | 'only';
  readonly shadowRun?: number;
}

/**
 * One page of a sorted listing (keyset pagination): rows strictly after `after`, at most `limit`.
 * Stable under inserts: a row added before the key is not seen, none is seen twice.
 */
export interface PageQuery {
  /** Rows per page: 1 to 10,000 (default 100). */
  readonly limit?: number;
  /**
   * Case-insensitive substring of the name (the device id; for series, the device id or the
   * metric). Scanned, not indexed: see docs/api.md, "Pagination and search".
   */
  readonly q?: string;
  /** Only series (devices with a series) whose tags hold this key with this value. */
  readonly tag?: { readonly key: string; readonly value: string };
}

export interface DevicesPageQuery extends PageQuery {
  /** The last device of the previous page. */
  readonly after?: string;
}

export interface SeriesPageQuery extends PageQuery {
  /** Only this device. */
  readonly device?: string;
  /** Only these devices (one page of devices' series, say). */
  readonly devices?: readonly string[];
  /** The last series of the previous page. */
  readonly after?: { readonly device: string; readonly metric: string };
}

export interface Page<T> {
  readonly items: T[];
  /** Whether rows follow the last one (ask again with it as `after`). */
  readonly more: boolean;
}

export interface FleetCounts {
  readonly devices: number;
  readonly series: number;
}

/** A stored score bucket: the highest score and level seen in [time, time + bucket). */
export interface ScoreBucket {
  readonly device: string;
  readonly metric: string;
  readonly time: number;
  readonly score: number;
  /** 0 ok, 1 alert, 2 severe. */
  readonly level: number;
  /**
   * The alert threshold in value space, [lower, upper], read at the series' first scored point of
   * the bucket (`ScoredPoint.threshold`). Absent when there was none; non-finite bounds, or
   * bounds beyond a `real`, are stored as none.
   */
  readonly threshold?: readonly [number, number];
}

/** Live scores kept beside the points, coarsened to buckets (dashboard score history). */
export interface ScoreHistoryStore {
  /**
   * Merge buckets in: per (series, time) the higher score and level win; the threshold first
   * saved stays (the one read at the bucket's first point).
   */
  save(buckets: readonly ScoreBucket[]): Promise<void>;
  /** Buckets of one series in [from, to), oldest first. */
  range(device: string, metric: string, from: number, to: number): Promise<ScoreBucket[]>;
  /** The newest bucket of each series listed (series without one are left out). */
  latest(series: readonly { device: string; metric: string }[]): Promise<ScoreBucket[]>;
}

/**
 * Where a metric's unit came from: the API (`PUT /v1/units`), the config file's `units:` section
 * (re-applied at every start, so it wins over the API for the metrics it names), or Prometheus
 * remote-write metadata (inferred: never replaces the other two).
 */
export type MetricUnitSource = 'api' | 'config' | 'metadata';

/** A unit declared for a metric name, for every device reporting it (migrations 013, 014). */
export interface MetricUnit {
  readonly metric: string;
  /** As shown on axes and next to values, e.g. `°C`, `kPa`, `%`. */
  readonly unit: string;
  readonly description: string | null;
  readonly source: MetricUnitSource;
  /** When it was last declared (ms). */
  readonly updatedAt: number;
}

/** What a metric's unit was before `applyConfig` replaced it. */
export interface ReplacedUnit {
  readonly metric: string;
  readonly unit: string;
  readonly source: MetricUnitSource;
}

/** Units declared for metrics: a small table, read whole. */
export interface MetricUnitStore {
  /** Every declared unit, sorted by metric. */
  list(): Promise<MetricUnit[]>;
  /** Declare (or replace) the unit of a metric through the API. */
  set(metric: string, unit: string, description: string | null): Promise<MetricUnit>;
  /** Forget the metric's unit; false when it had none. */
  remove(metric: string): Promise<boolean>;
  /**
   * The config file's units, in one transaction: each replaces the metric's row whatever its
   * source; `config` rows of metrics no longer listed are removed. Returns the API and metadata
   * units it replaced with a different unit (for a warning).
   */
  applyConfig(
    units: ReadonlyMap<string, { unit: string; description: string | null }>,
  ): Promise<ReplacedUnit[]>;
  /**
   * A unit from the data's own metadata: stored only where the metric has no unit or only an
   * earlier metadata one. False when a declared (`api`, `config`) unit kept its place.
   */
  setInferred(metric: string, unit: string, description: string | null): Promise<boolean>;
}

/** Reads. Answers reflect every commit that resolved before the call. */
export interface Querier {
  /** Devices with at least one committed point, sorted. */
  devices(): Promise<string[]>;
  /** Series, sorted by device then metric; optionally of one device. */
  series(device?: string): Promise<SeriesInfo[]>;
  /** One page of devices, sorted (byte order), optionally searched. */
  devicePage(query?: DevicesPageQuery): Promise<Page<string>>;
  /** One page of series, sorted by device then metric, optionally of one device and searched. */
  seriesPage(query?: SeriesPageQuery): Promise<Page<SeriesInfo>>;
  /** How many devices and series the catalogue holds. */
  counts(): Promise<FleetCounts>;
  points(query: PointsQuery): Promise<RawPoints | BucketedPoints>;
  events(query?: EventsQuery): Promise<StoredEvent[]>;
}

export interface EventStore {
  /**
   * Insert or replace events by id, in one transaction. Within one call the last event with an
   * id wins. @throws VIGIL_ERR_STORE_INVALID for a malformed event (nothing written).
   */
  upsert(events: readonly StoredEvent[]): Promise<void>;
  get(id: string): Promise<StoredEvent | undefined>;
  /**
   * Label an event (replacing any label it had); returns the event as stored, undefined when no
   * event has that id. @throws VIGIL_ERR_STORE_INVALID for an unknown label or an over-long note.
   */
  setLabel(
    id: string,
    label: {
      readonly label: EventLabel;
      readonly note?: string | null;
      readonly by?: string | null;
    },
  ): Promise<StoredEvent | undefined>;
  /** Remove an event's label; returns the event, undefined when no event has that id. */
  clearLabel(id: string): Promise<StoredEvent | undefined>;
  /**
   * Label counts and precision per strategy name, sorted by name (strategies with events);
   * shadow-run events are not counted.
   */
  labelSummary(): Promise<LabelSummary[]>;
}

export interface StrategyVersion {
  readonly name: string;
  readonly version: number;
  /** The YAML document exactly as given. */
  readonly yaml: string;
  /** When this version was first stored (wall clock, ms). */
  readonly createdAt: number;
}

/**
 * Every version of every strategy is kept, immutable. The name and version are the strategy's
 * own (`name:` and `version:` in the YAML); the store does not parse the YAML.
 */
export interface StrategyStore {
  /**
   * Keep a version. Saving the same (name, version, yaml) again is a no-op that returns the
   * stored version; the same (name, version) with other YAML throws VIGIL_ERR_STORE_CONFLICT —
   * bump the version instead.
   */
  save(strategy: { name: string; version: number; yaml: string }): Promise<StrategyVersion>;
  /** Every stored version, by name then version (without the YAML). */
  list(): Promise<Omit<StrategyVersion, 'yaml'>[]>;
  latest(name: string): Promise<StrategyVersion | undefined>;
  get(name: string, version: number): Promise<StrategyVersion | undefined>;
}

export type ShadowRunStatus = 'running' | 'promoted' | 'discarded';

/** A candidate strategy version scoring in shadow beside the active ones (docs/shadow.md). */
export interface ShadowRun {
  /** Assigned by the store, increasing. */
  readonly id: number;
  readonly strategy: string;
  readonly version: number;
  readonly status: ShadowRunStatus;
  /** Wall clock (ms) the run started, and ended (promoted or discarded); null while running. */
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** The run's counters as last saved (plain JSON; the engine's shadow module defines them). */
  readonly stats: JsonValue | null;
}

export interface ShadowRunStore {
  /** @throws VIGIL_ERR_STORE_INVALID for a bad name or version. */
  create(run: { readonly strategy: string; readonly version: number }): Promise<ShadowRun>;
  get(id: number): Promise<ShadowRun | undefined>;
  /** Newest first; optionally of one status. */
  list(status?: ShadowRunStatus): Promise<ShadowRun[]>;
  /** Save counters; returns undefined when no run has that id. */
  saveStats(id: number, stats: JsonValue): Promise<ShadowRun | undefined>;
  /**
   * End a running run (promoted or discarded) and save its last counters. Returns the run as
   * stored, undefined when no run has that id; a run already ended keeps its status.
   */
  end(
    id: number,
    status: Exclude<ShadowRunStatus, 'running'>,
    stats: JsonValue | null,
  ): Promise<ShadowRun | undefined>;
}

export interface Checkpoint {
  /** The series' key as the engine names it (e.g. `device/metric`); unique. */
  readonly key: string;
  readonly snapshot: PipelineSnapshot;
  /** Event time (ms) of the last point the snapshot has seen. */
  readonly eventTime: number;
  /** Wall-clock time (ms) the snapshot was taken; defaults to now. */
  readonly wallTime?: number;
}

/** A series' checkpoint known by its head only; its state is read when the series needs it. */
export interface CheckpointHead {
  readonly key: string;
  readonly head: StateHead;
  readonly eventTime: number;
}

/** A checkpoint whose snapshot is already encoded (state-codec.ts `encodeState`). */
export interface EncodedCheckpoint {
  readonly key: string;
  readonly state: Uint8Array;
  readonly eventTime: number;
  readonly wallTime: number;
}

/**
 * Pipeline snapshots, one per series key; the latest put wins. Snapshots are stored in the
 * binary, versioned form of state-codec.ts: typed arrays, NaN, ±Infinity and −0 round-trip
 * exactly. Rows written as JSON by Vigil before that form still restore.
 */
export interface CheckpointStore {
  /** Insert or replace, all in one transaction. */
  put(checkpoints: readonly Checkpoint[]): Promise<void>;
  /** Insert or replace states encoded already (off the main thread), all in one transaction. */
  putEncoded(checkpoints: readonly EncodedCheckpoint[]): Promise<void>;
  getAll(): Promise<Required<Checkpoint>[]>;
  /** The checkpoints stored under these keys (those that exist, in key order). */
  get(keys: readonly string[]): Promise<Required<Checkpoint>[]>;
  /** As `get`, the states still encoded (state-codec.ts); absent: `get`, then encoded. */
  getEncoded?(keys: readonly string[]): Promise<EncodedCheckpoint[]>;
  /**
   * What a start needs (key order): the head of each series state that has one (state-codec.ts
   * format 2), without its state, and every other checkpoint whole. Absent: `getAll`.
   */
  getForStart?(): Promise<{ heads: CheckpointHead[]; whole: Required<Checkpoint>[] }>;
  /** Delete every checkpoint whose key starts with `prefix` (not empty); how many were. */
  deletePrefix(prefix: string): Promise<number>;
}

/**
 * The engine's own records, one JSON document per key (e.g. the active strategy set, the log
 * position the last checkpoint covers); the engine defines and checks their shapes. The latest
 * put wins. Keys: 1 to 200 characters.
 */
export interface EngineStateStore {
  /** The document stored under `key`, undefined when there is none. */
  get(key: string): Promise<JsonValue | undefined>;
  /** Insert or replace. */
  put(key: string, value: JsonValue): Promise<void>;
}

/** Why an alert delivery was given up (docs/alerts.md). */
export type DeadLetterReason = 'retries_exhausted' | 'queue_full' | 'rejected' | 'shutdown';

/** An alert delivery that was not made, kept for inspection and replay. */
export interface DeadLetter {
  /** Assigned by the store, increasing. */
  readonly id: number;
  /** The sink's configured name. */
  readonly sink: string;
  /** The delivery's id (the `X-Vigil-Delivery` header): the same on every attempt. */
  readonly deliveryId: string;
  readonly incidentId: string | null;
  readonly reason: DeadLetterReason;
  /** Attempts made (0 when it never left the queue). */
  readonly attempts: number;
  readonly lastError: string | null;
  /** The JSON body exactly as it was to be sent. */
  readonly payload: JsonValue;
  /** Wall-clock time (ms) it was given up. */
  readonly createdAt: number;
}

export interface DeadLettersQuery {
  readonly sink?: string;
  /** Only ids below this (paging: pass the last id seen). */
  readonly before?: number;
  /** Newest first; default 100, at most 10,000. */
  readonly limit?: number;
}

/** Insert-only record of undeliverable alerts. */
export interface DeadLetterStore {
  /** @throws VIGIL_ERR_STORE_INVALID for a malformed letter (nothing written). */
  save(letter: Omit<DeadLetter, 'id' | 'createdAt'>): Promise<DeadLetter>;
  list(query?: DeadLettersQuery): Promise<DeadLetter[]>;
}

/** A point row the database refused, with why (migration 007). */
export interface RejectedRow {
  /** The COPY text row as it was handed to the store. */
  readonly row: string;
  readonly error: string;
}

/** Insert-only record of point rows the database refused (store-writer.ts sets them aside). */
export interface PointDeadLetterStore {
  save(rows: readonly RejectedRow[]): Promise<void>;
  /** Oldest first; at most `limit` (default 100). */
  list(limit?: number): Promise<RejectedRow[]>;
}

export interface StoreInfo {
  readonly backend: 'pglite' | 'postgres';
  /** Whether points live in a TimescaleDB hypertable (with aggregates and policies). */
  readonly timescale: boolean;
  /** TimescaleDB extension version, when present. */
  readonly timescaleVersion: string | null;
  /**
   * Why points are not in TimescaleDB though `timescale` is not `off`: the server does not offer
   * it, offers it without preloading it, offers a version that is too old, or the schema was
   * created without it. Null when TimescaleDB is in use or turned off.
   */
  readonly timescaleNote: string | null;
  readonly serverVersion: string;
  /** The PostgreSQL schema that holds Vigil's tables. */
  readonly schema: string;
  /** Schema migration version after opening. */
  readonly schemaVersion: number;
}

export type {
  IncidentComment,
  IncidentRecord,
  IncidentsQuery,
  IncidentState,
  IncidentStore,
  StoredIncident,
} from '../incidents/types.js';
/** Opened, migrated storage. Create one per process and share it. */
export interface Store {
  readonly info: StoreInfo;
  appender(): Appender;
  readonly querier: Querier;
  readonly events: EventStore;
  readonly strategies: StrategyStore;
  readonly checkpoints: CheckpointStore;
  readonly engineState: EngineStateStore;
  readonly deadLetters: DeadLetterStore;
  readonly pointDeadLetters: PointDeadLetterStore;
  readonly shadows: ShadowRunStore;
  readonly scoreHistory: ScoreHistoryStore;
  readonly incidents: IncidentStore;
  readonly metricUnits: MetricUnitStore;
  /**
   * Recompute the continuous aggregates over [from, to) (default: everything still within
   * retention), widened outward to whole buckets of each aggregate. Late writes are refreshed by
   * the store itself (`refreshLateWrites`); this is for a range by hand. Without TimescaleDB it
   * does nothing.
   */
  refreshAggregates(from?: number, to?: number): Promise<void>;
  /**
   * Refresh now the ranges written below an aggregate's watermark (late data), which the store
   * otherwise refreshes in the background about a second after the write; returns the number of
   * refreshes made. Without TimescaleDB it does nothing.
   */
  refreshLateWrites(): Promise<number>;
  /**
   * Run the housekeeping now: with TimescaleDB every policy job (aggregate refresh, compression,
   * retention) — a server also runs them on schedule, PGlite never does; without it, delete
   * points older than the retention period.
   */
  maintain(): Promise<void>;
  /** Close connections; a PGlite instance handed in by the caller is left open. */
  close(): Promise<void>;
}

/** Options both backends share. */
export interface StoreOptions {
  /** PostgreSQL schema for Vigil's tables (created if missing); default `public`. */
  readonly schema?: string;
  /**
   * `auto` (default): use TimescaleDB when the server offers the extension and it loads (else
   * plain tables, with a `log` line); `require`: fail with VIGIL_ERR_STORE_SCHEMA without it;
   * `off`: never. Decided when the schema is first created.
   */
  readonly timescale?: 'auto' | 'require' | 'off';
  /** Points older than this (wall clock) are dropped by the retention job; 0 keeps all. Default 30. */
  readonly retentionDays?: number;
  /** TimescaleDB: chunks older than this are compressed; 0 disables. Default 24. */
  readonly compressAfterHours?: number;
  /** TimescaleDB: hours of points per chunk, for chunks created from now on. Default 1. */
  readonly chunkHours?: number;
  /**
   * Where the store reports what it decided on its own: TimescaleDB offered but not usable (and
   * points stored plain), a background refresh that failed. Default: a process warning.
   */
  readonly log?: (message: string) => void;
}
