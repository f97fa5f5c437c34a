import { z } from 'zod';
import type { DetectorSnapshot } from '../detector.js';
import { parseSnapshot } from '../snapshot-parts.js';
import { ratioScore } from '../score-map.js';
import type { VectorDetector, VectorDetectorFactory } from '../vector-detector.js';
import {
  ThinnedSample,
  thinnedSampleStateSchema,
  type ThinnedSampleState,
} from './thinned-sample.js';
import type { TrainableVectorDetector } from './trainable.js';
import { VigilError } from '../../../errors.js';
// The one I/O of a core detector: the model file, read when a detector is built or restored
// (never while scoring), so a changed file is picked up by the next pipeline build.
import { loadVectorModel, MODEL_NAME, type VectorModel } from '../../../models/vector-model.js';

export const ONNX_KIND = 'onnx';

/**
 * `onnx`: an autoencoder from the model directory scores each window of the device's last
 * `window` vectors by how badly it reconstructs them.
 *
 * Per metric m, e_m is the mean squared reconstruction error over the window's positions (raw
 * units squared). The statistic is the mean over metrics of e_m / s_m, where s_m is metric m's
 * mean error over the training period, so every metric's error is on the scale of its own normal
 * error and a well-reconstructed training period averages 1. The score is ratioScore(statistic,
 * boundary), the boundary being the `calibration_quantile` of the training period's statistics
 * times `calibration_margin` (at least 1). A metric's share of the anomaly is its e_m / s_m.
 *
 * The training period is the pipeline's (`closeTraining`), else the first `training_points`
 * vectors. The model itself is fixed (trained offline), so after calibration `learn` only moves
 * the window. A snapshot records the model's SHA-256: restored with another file under that name
 * (hot reload), the detector calibrates again on its next `training_points` vectors.
 */
export const onnxParamsSchema = z.strictObject({
  /** Model name: `<name>.onnx` in the model directory. */
  model: z
    .string()
    .regex(MODEL_NAME, 'a file name without .onnx (letters, digits, _ . -), no path'),
  /** Vectors per inference; default the model's `vigil.window`, else its width ÷ metrics. */
  window: z.number().int().min(1).max(4096).optional(),
  /** Vectors of the detector's own training period (when the pipeline sets none). */
  training_points: z.number().int().min(2).max(1_000_000).default(500),
  calibration_quantile: z.number().gt(0.5).max(1).default(0.995),
  calibration_margin: z.number().min(1).max(10).default(1),
});

export type OnnxParams = z.infer<typeof onnxParamsSchema>;

/** Complete windows a calibration needs at the least. */
const MIN_CALIBRATION_WINDOWS = 20;
/** Training windows kept for the calibration (evenly thinned beyond): bounds snapshots. */
const CALIBRATION_WINDOWS = 4096;
/** Normalised errors are capped here so that ratios of extreme errors stay finite. */
const MAX_NORMALISED = 1e300;

interface OnnxState {
  readonly dimensions: number;
  readonly window: number;
  readonly model_sha256: string;
  /** The last window − 1 usable vectors, oldest first, flattened. */
  readonly recent: number[];
  readonly trained: number;
  /** Per-metric errors of the training windows (dropped once calibrated). */
  readonly errors: ThinnedSampleState;
  /** Per-metric mean training error, once calibrated. */
  readonly scales?: number[];
  readonly boundary?: number;
  readonly closed: boolean;
}

const stateSchema: z.ZodType<OnnxState> = z.object({
  dimensions: z.number().int().positive(),
  window: z.number().int().positive(),
  model_sha256: z.string(),
  recent: z.array(z.number()),
  trained: z.number().int().min(0),
  errors: thinnedSampleStateSchema,
  scales: z.array(z.number()).optional(),
  boundary: z.number().optional(),
  closed: z.boolean(),
});

class OnnxAutoencoderDetector implements TrainableVectorDetector {
  readonly kind = ONNX_KIND;
  readonly params: Readonly<OnnxParams>;
  readonly window: number;
  private readonly model: VectorModel;
  /** Vectors oldest first: the last window − 1 usable ones, then the one being scored. */
  private readonly row: Float64Array;
  private readonly reconstruction: Float64Array;
  private readonly metricErrors: Float64Array;
  private recentCount = 0;
  private trained = 0;
  private errors: ThinnedSample;
  private scales: Float64Array | null = null;
  private boundary = 1;
  private closed = false;
  private readonly lastShares: Float64Array;
  private lastScore = 0;

  constructor(
    params: OnnxParams,
    readonly dimensions: number,
    state?: OnnxState,
  ) {
    this.params = Object.freeze({ ...params });
    this.model = loadVectorModel(params.model);
    this.window = windowOf(this.model, params, dimensions);
    this.row = new Float64Array(this.window * dimensions);
    this.reconstruction = new Float64Array(this.row.length);
    this.metricErrors = new Float64Array(dimensions);
    this.lastShares = new Float64Array(dimensions);
    this.errors = new ThinnedSample(dimensions, CALIBRATION_WINDOWS);
    if (state) this.restoreState(state);
  }

  private restoreState(state: OnnxState): void {
    const d = this.dimensions;
    if (state.dimensions !== d) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        `onnx snapshot of ${state.dimensions} metrics for ${d}`,
      );
    }
    // Another window length cannot reuse the kept vectors; another model cannot reuse the
    // calibration (its errors are on another scale): both start over.
    if (state.window === this.window && state.recent.length <= (this.window - 1) * d) {
      this.row.set(state.recent, (this.window - 1) * d - state.recent.length);
      this.recentCount = state.recent.length / d;
    }
    if (state.model_sha256 !== this.model.sha256) return;
    this.trained = state.trained;
    this.errors = new ThinnedSample(this.dimensions, CALIBRATION_WINDOWS, state.errors);
    this.closed = state.closed;
    if (state.scales && state.boundary !== undefined) {
      this.scales = Float64Array.from(state.scales);
      this.boundary = state.boundary;
    }
  }

  get trainingClosed(): boolean {
    return this.closed;
  }

  get trainedVectors(): number {
    return this.trained;
  }

  /** The detector's own training period: `training_points`, but at least its minimum. */
  private get trainingPoints(): number {
    return Math.max(this.params.training_points, this.minimumTraining);
  }

  get minimumTraining(): number {
    return this.window - 1 + MIN_CALIBRATION_WINDOWS;
  }

  private usable(values: Float64Array): boolean {
    if (values.length !== this.dimensions) {
      throw new RangeError(`expected ${this.dimensions} values, got ${values.length}`);
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v - v !== 0) return false;
    }
    return true;
  }

  /** Puts `values` last in the row and reconstructs the window; false without a full window. */
  private reconstruct(values: Float64Array): boolean {
    if (this.recentCount < this.window - 1) return false;
    const d = this.dimensions;
    this.row.set(values, (this.window - 1) * d);
    this.model.reconstruct(this.row, this.reconstruction);
    this.metricErrors.fill(0);
    for (let i = 0; i < this.row.length; i++) {
      const e = (this.reconstruction[i] as number) - (this.row[i] as number);
      const m = i % d;
      this.metricErrors[m] = (this.metricErrors[m] as number) + e * e;
    }
    for (let m = 0; m < d; m++) {
      const e = (this.metricErrors[m] as number) / this.window;
      // A non-finite reconstruction (a model overflowing on extreme input) is a maximal error.
      this.metricErrors[m] = e === e ? e : Infinity;
    }
    return true;
  }

  /** Normalised per-metric errors of the last reconstruction into `out`; returns their mean. */
  private normalised(scales: Float64Array, out: Float64Array): number {
    let sum = 0;
    for (let m = 0; m < this.dimensions; m++) {
      const r = Math.min(MAX_NORMALISED, (this.metricErrors[m] as number) / (scales[m] as number));
      out[m] = r;
      sum += r;
    }
    return Math.min(MAX_NORMALISED, sum / this.dimensions);
  }

  score(_timeMs: number, values: Float64Array): number {
    this.lastScore = 0;
    const scales = this.scales;
    if (!this.usable(values) || scales === null || !this.reconstruct(values)) return 0;
    const statistic = this.normalised(scales, this.lastShares);
    this.lastScore = ratioScore(statistic, this.boundary);
    return this.lastScore;
  }

  contributions(out: Float64Array): void {
    let sum = 0;
    for (let m = 0; m < this.dimensions; m++) sum += this.lastShares[m] as number;
    if (this.lastScore === 0 || !(sum > 0)) {
      out.fill(0);
      return;
    }
    for (let m = 0; m < this.dimensions; m++) out[m] = (this.lastShares[m] as number) / sum;
  }

  learn(_timeMs: number, values: Float64Array): void {
    if (!this.usable(values)) return;
    if (this.scales === null) {
      if (this.trained < this.trainingPoints) this.collect(values);
      if (this.trained >= this.trainingPoints) this.calibrate();
    }
    this.push(values);
  }

  train(_timeMs: number, values: Float64Array): void {
    if (!this.usable(values)) return;
    if (!this.closed) this.collect(values);
    this.push(values);
  }

  update(timeMs: number, values: Float64Array): number {
    const score = this.score(timeMs, values);
    this.learn(timeMs, values);
    return score;
  }

  closeTraining(): Float64Array {
    if (this.trained < this.minimumTraining) {
      throw new VigilError(
        'VIGIL_ERR_STRATEGY_INVALID',
        `detector 'onnx' (model ${this.params.model}, window ${this.window}) needs at least ` +
          `${this.minimumTraining} training vectors, got ${this.trained}`,
      );
    }
    // Already calibrated by its own training period and given nothing since: keep that one.
    const statistics =
      this.scales !== null && this.errors.size === 0 ? new Float64Array(0) : this.calibrate();
    this.closed = true;
    this.lastScore = 0;
    return Float64Array.from(statistics, (s) => ratioScore(s, this.boundary));
  }

  /** Records the training window ending at `values` (its per-metric errors). */
  private collect(values: Float64Array): void {
    this.trained++;
    if (!this.reconstruct(values)) return;
    this.errors.offer(this.metricErrors);
  }

  /** Calibrates on the collected windows; returns their statistics. */
  private calibrate(): Float64Array {
    const d = this.dimensions;
    const n = this.errors.size;
    const means = new Float64Array(d);
    for (let w = 0; w < n; w++) {
      for (let m = 0; m < d; m++) means[m] = (means[m] as number) + this.errors.at(w, m) / n;
    }
    let overall = 0;
    for (let m = 0; m < d; m++) overall = Math.max(overall, means[m] as number);
    // A metric reconstructed perfectly in training must not make any error look infinite.
    const floor = Math.max(overall * 1e-9, 1e-300);
    const scales = Float64Array.from(means, (s) => (s === s && s > floor ? s : floor));
    const statistics = new Float64Array(n);
    for (let w = 0; w < n; w++) {
      let sum = 0;
      for (let m = 0; m < d; m++) {
        const r = this.errors.at(w, m) / (scales[m] as number);
        sum += Math.min(MAX_NORMALISED, r);
      }
      statistics[w] = Math.min(MAX_NORMALISED, sum / d);
    }
    const sorted = Float64Array.from(statistics).sort();
    const q = this.params.calibration_quantile;
    const at = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
    const quantile = sorted.length > 0 ? (sorted[at] as number) : 1;
    this.boundary = Math.max(1, quantile * this.params.calibration_margin);
    this.scales = scales;
    this.errors.clear();
    return statistics;
  }

  private push(values: Float64Array): void {
    const d = this.dimensions;
    const keep = (this.window - 1) * d;
    if (keep === 0) return;
    this.row.copyWithin(0, d, keep);
    this.row.set(values, keep - d);
    if (this.recentCount < this.window - 1) this.recentCount++;
  }

  snapshot(): DetectorSnapshot {
    const d = this.dimensions;
    const keep = (this.window - 1) * d;
    const state: OnnxState = {
      dimensions: d,
      window: this.window,
      model_sha256: this.model.sha256,
      recent: Array.from(this.row.subarray(keep - this.recentCount * d, keep)),
      trained: this.trained,
      errors: this.errors.state(),
      ...(this.scales ? { scales: Array.from(this.scales), boundary: this.boundary } : {}),
      closed: this.closed,
    };
    return { kind: ONNX_KIND, params: { ...this.params }, state };
  }
}

/** The window length, checked against the model's width and declared metric count. */
function windowOf(model: VectorModel, params: OnnxParams, dimensions: number): number {
  const where = `model "${model.name}"`;
  if (model.dimensions !== undefined && model.dimensions !== dimensions) {
    throw new VigilError(
      'VIGIL_ERR_STRATEGY_INVALID',
      `${where} was trained on vectors of ${model.dimensions} metrics, but the device has ${dimensions}`,
    );
  }
  const window = params.window ?? model.window ?? model.width / dimensions;
  if (!Number.isInteger(window) || window * dimensions !== model.width) {
    throw new VigilError(
      'VIGIL_ERR_STRATEGY_INVALID',
      `${where} takes rows of ${model.width} values, which is not ` +
        (params.window === undefined && model.window === undefined
          ? `a whole number of vectors of ${dimensions} metrics`
          : `a window of ${window} vectors × ${dimensions} metrics`),
    );
  }
  return window;
}

/**
 * A strategy's detector (`kind`, `params`) names an `onnx` model, directly or as a
 * `vector-ensemble`'s vector part: load it now, so that a missing or unreadable model is refused
 * when the strategy is staged, not met at a device's first point. Throws the loader's error.
 */
export function checkOnnxModels(kind: string, params: unknown): void {
  const p = (params ?? {}) as { model?: unknown; vector?: { kind?: unknown; params?: unknown } };
  if (kind === ONNX_KIND && typeof p.model === 'string') loadVectorModel(p.model);
  if (kind !== ONNX_KIND && typeof p.vector?.kind === 'string') {
    checkOnnxModels(p.vector.kind, p.vector.params);
  }
}

/**
 * A device's metrics against the ones an `onnx` model (directly, or as a `vector-ensemble`'s
 * vector part) was trained on, when the model names them (`vigil.metrics`): the same names in the
 * same order, else a VIGIL_ERR_STRATEGY_INVALID naming both lists. A model reconstructs the
 * positions of its input, so another metric in a position would be scored as a broken relation.
 */
export function checkOnnxMetrics(kind: string, params: unknown, metrics: readonly string[]): void {
  const p = (params ?? {}) as { model?: unknown; vector?: { kind?: unknown; params?: unknown } };
  if (kind !== ONNX_KIND) {
    if (typeof p.vector?.kind === 'string')
      checkOnnxMetrics(p.vector.kind, p.vector.params, metrics);
    return;
  }
  if (typeof p.model !== 'string') return;
  const model = loadVectorModel(p.model);
  const trained = model.metrics;
  if (trained === undefined) return;
  if (trained.length === metrics.length && trained.every((name, i) => name === metrics[i])) return;
  const sameSet =
    trained.length === metrics.length &&
    [...trained].sort().join('\0') === [...metrics].sort().join('\0');
  const missing = trained.filter((name) => !metrics.includes(name));
  const extra = metrics.filter((name) => !trained.includes(name));
  const why = sameSet
    ? 'the same metrics in another order (the model reads each by its position)'
    : [
        missing.length > 0 ? `the device lacks ${quoted(missing)}` : '',
        extra.length > 0 ? `the model does not know ${quoted(extra)}` : '',
      ]
        .filter((part) => part !== '')
        .join('; ');
  throw new VigilError(
    'VIGIL_ERR_STRATEGY_INVALID',
    `model "${model.name}" was trained on the metrics ${quoted(trained)}, in this order, but the ` +
      `device has ${quoted(metrics)}: ${why}`,
  );
}

function quoted(names: readonly string[]): string {
  return `[${names.map((n) => JSON.stringify(n)).join(', ')}]`;
}

export const onnxFactory: VectorDetectorFactory<OnnxParams> = {
  kind: ONNX_KIND,
  description:
    'autoencoder from the model directory (ONNX) over windows of the device vectors; reconstruction error normalised on the training period',
  paramsSchema: onnxParamsSchema,
  create: (params, dimensions): VectorDetector => new OnnxAutoencoderDetector(params, dimensions),
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(snapshot, ONNX_KIND, onnxParamsSchema, stateSchema);
    return new OnnxAutoencoderDetector(params, state.dimensions, state);
  },
};
