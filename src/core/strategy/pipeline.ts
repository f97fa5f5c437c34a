import type { Detector, DetectorSnapshot } from '../detectors/detector.js';
import type { Level, Threshold, ThresholdSnapshot } from '../thresholds/threshold.js';

/**
 * One series' compiled strategy: a detector (often an ensemble) and a threshold.
 * The same object serves live scoring, replay and evaluation.
 */
export interface SeriesPipeline {
  /**
   * Score the point, classify it, learn it — unless it was flagged (alert/severe) and the
   * strategy does not set `learn_on_flagged`. Returns the score. A non-finite value scores 0,
   * is `ok` and is not learned.
   */
  process(timeMs: number, value: number): number;
  /** Level of the last processed point. */
  readonly lastLevel: Level;
  /**
   * Let the detector learn a point as normal without classifying it (training rows). The score is
   * still shown to the threshold, so an adaptive threshold is calibrated when live scoring
   * starts; `lastLevel` is left unchanged.
   */
  train(timeMs: number, value: number): void;
  snapshot(): PipelineSnapshot;
}

export interface PipelineSnapshot {
  readonly strategy: string;
  readonly version: number;
  readonly detector: DetectorSnapshot;
  readonly threshold: ThresholdSnapshot;
  /** Level of the last processed point; absent in older snapshots (then `ok`). */
  readonly lastLevel?: Level;
}

export type { Detector, Threshold, Level };
