import type { Detector, DetectorSnapshot } from '../detectors/detector.js';
import type { Level, Threshold, ThresholdSnapshot } from '../thresholds/threshold.js';
import type { EventChange } from '../events/types.js';
import type { OpenSpan } from '../events/event-tracker.js';

/**
 * One series' compiled strategy: a detector (often an ensemble) and a threshold.
 * The same object serves live scoring, replay and evaluation.
 */
export interface SeriesPipeline extends EventReporting {
  /**
   * Score the point, classify it, learn it — unless it was flagged (alert/severe) and the
   * strategy does not set `learn_on_flagged`. Returns the score. A non-finite value scores 0,
   * is `ok` and is not learned. A point of the strategy's training period (`training`) is
   * learned as by `train`, scores 0 and is `ok`.
   */
  process(timeMs: number, value: number): number;
  /** Level of the last processed point. */
  readonly lastLevel: Level;
  /**
   * Let the detector learn a point as normal without classifying it (training rows). The score is
   * still shown to the threshold, so an adaptive threshold is calibrated when live scoring
   * starts; `lastLevel` is left unchanged. Counts towards the strategy's `training.rows`.
   */
  train(timeMs: number, value: number): void;
  /**
   * The alert threshold in value space for a point at `timeMs`: the values [lower, upper] that
   * would not alert. It is the detector's band (`ExplainingDetector.explain`, where its score
   * reaches 0.5), given only while the strategy's threshold alerts at that same score; null
   * otherwise (no band, warming up or training, another alert score, non-finite bounds).
   * Read-only: call it before `process` for the same point. Costs about one score: not for
   * every point (the engine asks once per series and minute).
   */
  alertBand(timeMs: number, value: number): readonly [number, number] | null;
  snapshot(): PipelineSnapshot;
}

export interface PipelineSnapshot {
  readonly strategy: string;
  readonly version: number;
  /** The series (`device/metric`) or device key; absent in older snapshots. */
  readonly key?: string;
  readonly detector: DetectorSnapshot;
  readonly threshold: ThresholdSnapshot;
  /** Level of the last processed point; absent in older snapshots (then `ok`). */
  readonly lastLevel?: Level;
  /** Points counted towards `training.rows` (counting stops there); absent = 0. */
  readonly trainingSeen?: number;
  /** The event tracker's state (an incident in progress); absent in older snapshots. */
  readonly events?: unknown;
}

/**
 * One device's compiled vector strategy: a multivariate detector that sees the device's metrics
 * together, and a threshold. Same rules as `SeriesPipeline`, for vectors: a vector with any
 * non-finite entry is a missing reading (score 0, `ok`, nothing learned). `values` follows the
 * order of `metrics`, is only read, and may be reused by the caller.
 */
/** What both kinds of pipeline report about events (docs/events.md). */
export interface EventReporting {
  /**
   * The event change raised by the last processed point (an event opened, grew, closed or
   * reopened), with its explanation computed at the peak before the detector learned it; null
   * when the point changed no event.
   */
  readonly lastEventChange: EventChange | null;
  /** Close the event in progress at the end of a stream (replays, files); null if none. */
  flushEvents(timeMs: number): EventChange | null;
  /** The event span being built after the last point (reported or not), or null. */
  readonly eventSpan: OpenSpan | null;
}

export interface DevicePipeline extends EventReporting {
  /** Metric names, in the order of each vector's entries. */
  readonly metrics: readonly string[];
  /** Score, classify, learn (see `SeriesPipeline.process`). Returns the score. */
  process(timeMs: number, values: Float64Array): number;
  /** Learn a vector of the training period as normal (see `SeriesPipeline.train`). */
  train(timeMs: number, values: Float64Array): void;
  /** Level of the last processed vector. */
  readonly lastLevel: Level;
  /**
   * Each metric's share of the last processed vector's anomaly, in `metrics` order (non-negative,
   * summing to 1; all 0 when it scored 0): the explanation of a multivariate event.
   */
  contributions(out: Float64Array): void;
  snapshot(): DevicePipelineSnapshot;
}

export interface DevicePipelineSnapshot extends PipelineSnapshot {
  /** The metric order the detector was built for. */
  readonly metrics: readonly string[];
}

export type { Detector, Threshold, Level };
