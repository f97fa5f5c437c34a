import type { VectorDetector } from '../vector-detector.js';

/**
 * A vector detector whose model has a training period, the baseline of normal behaviour.
 *
 * `learn` learns as normal: during the detector's own training period (its first
 * `training_points` learned vectors) into the baseline with equal weights, afterwards as its
 * `adapt` parameter says (`frozen`: not at all, `ewma`: with exponential forgetting).
 * `train` always learns into the baseline with equal weights, whatever the phase, so a pipeline
 * whose training period (`training.rows`, `--train-rows`) is longer than `training_points` gets a
 * baseline of its whole training period instead of the first `training_points` vectors only.
 * Both follow the input rules of `VectorDetector` (a non-finite vector is ignored).
 */
export interface TrainableVectorDetector extends VectorDetector {
  train(timeMs: number, values: Float64Array): void;
  /**
   * End the pipeline's training period: the detector's own `training_points` no longer apply,
   * the baseline is fitted on everything trained and the score's 0.5 boundary calibrated on the
   * training period's own held-out scores, so scoring is armed from the next vector. Returns
   * those scores (for the threshold). Throws a VigilError when fewer vectors were trained than
   * the detector needs (d + 2 for the covariance detectors).
   */
  closeTraining(): Float64Array;
  /** True once `closeTraining` ran (it is kept in snapshots). */
  readonly trainingClosed: boolean;
  /** Vectors learned into the baseline so far. */
  readonly trainedVectors: number;
  /** Fewest trained vectors `closeTraining` accepts. */
  readonly minimumTraining: number;
}

export function isTrainable(detector: VectorDetector): detector is TrainableVectorDetector {
  const d = detector as Partial<TrainableVectorDetector>;
  return typeof d.train === 'function' && typeof d.closeTraining === 'function';
}
