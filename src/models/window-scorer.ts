import { ratioScore } from '../core/detectors/score-map.js';
import { VigilError } from '../errors.js';
import { quantileSorted } from './autoencoder-train.js';
import { calibrationOf, type ErrorCalibration } from './calibration.js';
import type { WindowModel } from './onnx-session.js';

export interface ScoreSeriesOptions {
  /** Declared window length; when given it must equal the model's. */
  readonly window?: number;
  /** How errors map to scores; defaults to the model's own (`vigil.error_*` metadata). */
  readonly calibration?: ErrorCalibration;
  /**
   * Calibrate instead on the first N points, taken as normal: typical and boundary become the
   * median and q99.9 of the errors of the windows that end among them. For models that carry
   * no calibration.
   */
  readonly calibrationPoints?: number;
  /** Windows per onnxruntime call; bounds memory (batch × window × 4 bytes). */
  readonly batchWindows?: number;
}

const DEFAULT_BATCH_WINDOWS = 4096;

/**
 * Scores a whole series with a window autoencoder, as a batch: the score of point t is the
 * reconstruction error e of the window of the `window` points ending at t, mapped to [0, 1] by
 * the shared ratio mapping of its excess over the typical error:
 * s = x / (x + (boundary - typical)) with x = max(0, e - typical), so errors up to the typical
 * one score 0 and the boundary scores 0.5. The first window - 1 points, and every point whose
 * window holds a missing value (NaN), score 0.
 * `times` must be aligned with `values`; windows are by position, as the model was trained.
 */
export async function scoreSeries(
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  model: WindowModel,
  options: ScoreSeriesOptions = {},
): Promise<Float64Array> {
  if (times.length !== values.length) {
    throw new RangeError(`${times.length} times for ${values.length} values`);
  }
  if (options.window !== undefined && options.window !== model.window) {
    throw new VigilError(
      'VIGIL_ERR_MODEL_INVALID',
      `${model.source}: the model takes windows of ${model.window} points, not ${options.window}`,
    );
  }
  const errors = await reconstructionErrors(values, model, options.batchWindows);
  const { typical, boundary } = calibrationFor(errors, model, options);
  const scores = new Float64Array(values.length);
  for (let t = 0; t < values.length; t++) {
    const excess = errors[t]! - typical;
    scores[t] = excess > 0 ? ratioScore(excess, boundary - typical) : 0;
  }
  return scores;
}

/**
 * Mean squared reconstruction error of the window ending at each point (raw units squared); NaN
 * where there is no complete window. Windows go to the runtime in batches of `batchWindows`.
 */
export async function reconstructionErrors(
  values: ArrayLike<number>,
  model: WindowModel,
  batchWindows = DEFAULT_BATCH_WINDOWS,
): Promise<Float64Array> {
  const W = model.window;
  const errors = new Float64Array(values.length).fill(Number.NaN);
  const ends: number[] = [];
  let run = 0;
  for (let t = 0; t < values.length; t++) {
    run = Number.isFinite(values[t]) ? run + 1 : 0;
    if (run >= W) ends.push(t);
  }
  const batch = model.fixedBatch ?? Math.max(1, batchWindows);
  const input = new Float32Array(batch * W);
  for (let first = 0; first < ends.length; first += batch) {
    const count = Math.min(batch, ends.length - first);
    for (let b = 0; b < count; b++) {
      const start = ends[first + b]! - W + 1;
      for (let i = 0; i < W; i++) input[b * W + i] = values[start + i]!;
    }
    // A fixed-batch model always gets a full batch; the padding rows are ignored.
    const sent = model.fixedBatch === undefined ? count : batch;
    if (sent > count) input.fill(0, count * W);
    const output = await model.reconstruct(input.subarray(0, sent * W), sent);
    for (let b = 0; b < count; b++) {
      const t = ends[first + b]!;
      const start = t - W + 1;
      let sum = 0;
      for (let i = 0; i < W; i++) {
        const d = output[b * W + i]! - values[start + i]!;
        sum += d * d;
      }
      errors[t] = sum / W;
    }
  }
  return errors;
}

function calibrationFor(
  errors: Float64Array,
  model: WindowModel,
  options: ScoreSeriesOptions,
): ErrorCalibration {
  if (options.calibration !== undefined) return options.calibration;
  if (options.calibrationPoints !== undefined) {
    const reference = errors.subarray(0, options.calibrationPoints).filter((e) => !Number.isNaN(e));
    if (reference.length < 10) {
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        `calibration needs at least 10 complete windows in the first ${options.calibrationPoints} points, found ${reference.length}`,
      );
    }
    reference.sort();
    return calibrationOf(quantileSorted(reference, 0.5), quantileSorted(reference, 0.999));
  }
  if (model.calibration !== undefined) return model.calibration;
  throw new VigilError(
    'VIGIL_ERR_USAGE',
    `${model.source} carries no vigil.error_boundary: calibrate on leading normal points (--train-rows N)`,
  );
}
