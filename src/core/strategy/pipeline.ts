import type { Detector, DetectorSnapshot } from '../detectors/detector.js';
import type { Level, Threshold, ThresholdSnapshot } from '../thresholds/threshold.js';

/**
 * One series' compiled strategy: a detector (often an ensemble) and a threshold.
 * The same object serves live scoring, replay and evaluation.
 */
export interface SeriesPipeline {
  /** Score the point, classify it, learn it (unless the threshold gates learning on flagged points). */
  process(timeMs: number, value: number): number;
  /** Level of the last processed point. */
  readonly lastLevel: Level;
  /** Let the detector learn a point as normal without classifying it (training rows). */
  train(timeMs: number, value: number): void;
  snapshot(): PipelineSnapshot;
}

export interface PipelineSnapshot {
  readonly strategy: string;
  readonly version: number;
  readonly detector: DetectorSnapshot;
  readonly threshold: ThresholdSnapshot;
}

export type { Detector, Threshold, Level };
