import type { z } from 'zod';
import type { DetectorSnapshot } from './detector.js';

/**
 * A multivariate detector: it sees one device's metrics together, as a vector of fixed length
 * (the metric order is fixed when the detector is created), so it can catch a fault that breaks
 * the relation between metrics while each metric alone looks normal.
 *
 * Same rules as the univariate `Detector`: pure, deterministic, score in [0, 1] from the past
 * only with the native decision boundary at 0.5, plain-JSON snapshots. A vector with any
 * non-finite entry is a missing reading: score 0, state untouched. `values` is read, never kept
 * or mutated (callers reuse the array).
 */
export interface VectorDetector {
  readonly kind: string;
  /** Number of metrics in every vector. */
  readonly dimensions: number;
  score(timeMs: number, values: Float64Array): number;
  learn(timeMs: number, values: Float64Array): void;
  update(timeMs: number, values: Float64Array): number;
  /**
   * Each metric's share of the last scored vector's anomaly (non-negative, summing to 1, or all
   * 0 when the score was 0), written into `out` (length `dimensions`): the explanation of a
   * multivariate event.
   */
  contributions(out: Float64Array): void;
  /**
   * Optional, for a detector made of parts (`vector-ensemble`): each part's score for the last
   * scored vector, strongest first, listed in the explanation beside the detector's own score.
   */
  scoreParts?(): readonly ScorePart[];
  snapshot(): DetectorSnapshot;
}

/** One part of a composite vector detector's score. */
export interface ScorePart {
  /** The part's detector kind. */
  readonly name: string;
  readonly score: number;
  /** Index of the metric the part scored alone (a univariate part), if any. */
  readonly metric?: number;
}

export interface VectorDetectorFactory<P = unknown> {
  readonly kind: string;
  readonly description: string;
  /** Zod schema with every default filled in, as for univariate detectors. */
  readonly paramsSchema: z.ZodType<P>;
  create(params: P, dimensions: number, seed: number): VectorDetector;
  /** Fewest vectors a training period must give a detector of `dimensions` metrics. */
  minimumTraining?(dimensions: number): number;
  restore(snapshot: DetectorSnapshot): VectorDetector;
}
