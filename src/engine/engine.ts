/**
 * The engine's contract, as seen by ingest adapters (gRPC, HTTP, MQTT, remote-write) and the
 * server: points go in, acknowledgements come back once the points are durable, scores and events
 * come out on a live feed. `createEngine` (create-engine.ts) builds one; docs/engine.md.
 *
 * Units: `timestamp` is event time in ms since the Unix epoch (UTC). A *series* is
 * (device_id, metric name).
 */
import { VigilError } from '../errors.js';
import type { AnomalyEvent } from '../core/events/types.js';
import type { SeriesPipeline } from '../core/strategy/pipeline.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { Level } from '../core/thresholds/threshold.js';
import type { LogSize } from './log/durable-log.js';
import type { RoutedSeries } from './scoring/protocol.js';
import type { ShadowControl } from './shadow/shadow-control.js';

/** One point as devices send it: the proto's `DataPoint`, also the HTTP JSON shape. */
export interface IngestPoint {
  readonly timestamp: number;
  readonly device_id: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * Why a point was not accepted, by index in the batch handed to `ingest`. Accepted points of the
 * same batch are still acknowledged: one bad point never costs the others.
 */
export interface PointError {
  readonly index: number;
  /** Stable code, e.g. `VIGIL_ERR_INPUT`. */
  readonly code: string;
  /** Which field and why, e.g. `metrics.temp: NaN is not a number`. */
  readonly message: string;
}

export interface IngestResult {
  /** Points accepted and durable (spooled with fsync, or committed to storage). */
  readonly accepted: number;
  readonly errors: readonly PointError[];
}

/** A live score of one series point (for SSE, the dashboard, unary Detect). */
export interface ScoredPoint {
  readonly device_id: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly value: number;
  readonly score: number;
  readonly level: Level;
  /** `name@version` of the strategy that scored it. */
  readonly strategy: string;
  /**
   * The alert threshold in value space at this point, [lower, upper]: the values that would not
   * have alerted. On the live feed only, at a series' first scored point of each minute, when the
   * strategy has one (`SeriesPipeline.alertBand`); absent otherwise. Such a point is sampled to
   * the feed's `ok` budget like any other.
   */
  readonly threshold?: readonly [number, number];
}

export type EngineFeedItem =
  | { readonly type: 'score'; readonly point: ScoredPoint }
  | {
      readonly type: 'event';
      readonly change: 'open' | 'update' | 'close' | 'reopen';
      readonly event: AnomalyEvent;
      /** The event's device and metric (null for a device-level event): `series` alone is
       * ambiguous when names contain `/`. */
      readonly device: string;
      readonly metric: string | null;
      /** Event time (ms) of the point that caused the change. */
      readonly at: number;
      /**
       * Set when the change was not caused by a scored point: `strategy-swap` — the series'
       * strategy was replaced by hot reload, so its open event was closed at its last scored time.
       */
      readonly reason?: 'strategy-swap';
    };

/**
 * Thrown (rejected) by `ingest` when the engine's bounded queues are full: the caller must slow
 * down (gRPC: stop reading the stream; HTTP: 429/503 with `Retry-After`). Nothing of the rejected
 * batch was accepted. A VigilError with code `VIGIL_ERR_BACKPRESSURE`.
 */
export class BackpressureError extends VigilError {
  constructor(
    /** Suggested wait before retrying, in ms. */
    readonly retryAfterMs: number,
  ) {
    super('VIGIL_ERR_BACKPRESSURE', `ingest queue full, retry in ${retryAfterMs} ms`);
    this.name = 'BackpressureError';
  }
}

export interface EngineStats {
  readonly accepted: number;
  readonly rejected: number;
  readonly stored: number;
  readonly scored: number;
  /** Points not scored because their time was not after the series' last scored time. */
  readonly notScored: number;
  readonly queued: number;
  readonly series: number;
  /** Series idle long enough to be dropped from memory (`idleEvictAfterMs`), not back yet. */
  readonly evictedSeries: number;
  readonly checkpoints: number;
  readonly lastCheckpointWallMs: number | null;
  /** What the durable log holds now (not yet trimmed: not both stored and checkpointed). */
  readonly log: LogSize;
  /** Scoring worker threads (0: scoring on the main thread). */
  readonly workers: number;
}

/**
 * Changing which strategies are active (docs/engine.md, hot reload). Each shard applies a commit
 * between two of its batches, so for every series it lands between two points.
 */
export interface StrategyRouting {
  /** The routed strategies in routing order, and the default. */
  active(): { readonly strategies: readonly Strategy[]; readonly fallback: Strategy };
  /** Live univariate series whose strategy would change if these were active. */
  plan(strategies: readonly Strategy[], fallback: Strategy): Promise<RoutedSeries[]>;
  /**
   * Make these active. A moving series keeps its last scored time and gets `warm.get(key)`
   * (key `device\u0000metric`, a pipeline of its new strategy) or a fresh pipeline; its open
   * event is closed (reason `strategy-swap`); device-level (vector) groups of a replaced
   * strategy start afresh. Resolves with how many series moved.
   */
  commit(
    strategies: readonly Strategy[],
    fallback: Strategy,
    warm: ReadonlyMap<string, SeriesPipeline>,
  ): Promise<number>;
}

export interface CloseOptions {
  /** `performance.now()` time by which the store must have taken the queued rows. */
  readonly deadline?: number;
}

export interface Engine {
  /**
   * Validate, then accept a batch: resolves once every accepted point is durable (the ack),
   * after which it will be stored exactly once and scored exactly once, even across a crash.
   * Rejects with BackpressureError when full (nothing accepted).
   * @param source protocol name for metrics (`grpc`, `http`, …)
   * @param onQueued optional; called synchronously, before the returned promise settles, once the
   *   batch has passed the backpressure check and holds its place in the log order. An adapter
   *   may then hand over its next batch without waiting for this one's fsync: order is kept.
   */
  ingest(
    points: readonly IngestPoint[],
    source: string,
    onQueued?: () => void,
  ): Promise<IngestResult>;
  /**
   * Score points synchronously against the live state without storing them or changing any
   * state (the unary `Detect` RPC, "what would you say about this?").
   */
  detect(points: readonly IngestPoint[]): Promise<ScoredPoint[]>;
  /** Live feed of scores and event changes; returns the unsubscribe function. */
  subscribe(listener: (item: EngineFeedItem) => void): () => void;
  /**
   * Drain the queues, checkpoint detector state, close. With a `deadline`, draining into the
   * store stops then (a store outage): the checkpoint is skipped, the log is closed with the
   * rows not yet stored, and the next start replays them; nothing acknowledged is lost.
   */
  close(options?: CloseOptions): Promise<void>;

  stats(): EngineStats;
  readonly routing: StrategyRouting;
  /** Candidate strategies scoring beside the active ones, never alerted (docs/shadow.md). */
  readonly shadows: ShadowControl;
  /** Take a checkpoint now (also done periodically and on close). */
  checkpoint(): Promise<void>;
  /** Resolve once everything accepted so far is scored and committed to the store. */
  flush(): Promise<void>;
}
