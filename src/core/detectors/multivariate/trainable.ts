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
}

export function isTrainable(detector: VectorDetector): detector is TrainableVectorDetector {
  return typeof (detector as Partial<TrainableVectorDetector>).train === 'function';
}
