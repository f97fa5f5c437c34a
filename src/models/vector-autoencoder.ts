import { z } from 'zod';
import { VigilError } from '../errors.js';
import { autoencoderParamsSchema, fitDenseAutoencoder } from './autoencoder-train.js';
import {
  META_DIMENSIONS,
  META_EPOCHS,
  META_HIDDEN,
  META_MEAN,
  META_METRICS,
  META_MODEL,
  META_SEED,
  META_STD,
  META_TRAIN_LOSS,
  META_TRAIN_WINDOWS,
  META_WINDOW,
  VECTOR_AUTOENCODER,
} from './model-metadata.js';
import {
  encodeOnnxModel,
  INPUT_NAME,
  ONNX_FLOAT,
  OUTPUT_NAME,
  type OnnxNode,
} from './onnx-writer.js';

/**
 * A dense autoencoder over windows of a device's vectors: the model the `onnx` detector runs.
 * Input and output are rows of window × metrics raw values (vectors oldest first, the device's
 * metric order within each); each metric is standardised inside the graph with its own mean and
 * standard deviation, so metrics of different units weigh alike.
 */
export const vectorAutoencoderParamsSchema = autoencoderParamsSchema.extend({
  /** Vectors per window. */
  window: z.number().int().min(1).max(512),
  epochs: z.number().int().min(1).max(10_000).default(40),
  /** L2 penalty on the weights (0: none). */
  weight_decay: z.number().min(0).max(1).default(0),
  /** Denoising: noise added to the standardised inputs while training (0: none). */
  noise: z.number().min(0).max(10).default(0),
  /**
   * The code layer. `linear` (default): no activation, so the model extrapolates to operating
   * points between and beyond those of a short training period. `hybrid`: mostly linear units
   * beside a few tanh ones, which fit curved relations when a long training period shows them
   * (better on a day of training, worse on 400 rows). `tanh`: every unit; after a short training
   * period it reconstructs later normal data 2–7 times worse than its training data
   * (docs/multivariate.md has the figures).
   */
  activation: z.enum(['hybrid', 'linear', 'tanh']).default('linear'),
  /** Linear code units of a `hybrid` model; default 5/8 of the inputs (at most hidden − 1). */
  linear_units: z.number().int().min(1).optional(),
});

export type VectorActivation = 'hybrid' | 'linear' | 'tanh';

/**
 * Default bottleneck: three quarters of the inputs when linear units carry the model (it must
 * keep every direction normal data move in; what it drops is the noise between metrics and
 * positions), a quarter for an all-tanh one.
 */
export function defaultHidden(width: number, activation: VectorActivation): number {
  const h = activation === 'tanh' ? Math.round(width / 4) : Math.round((3 * width) / 4);
  return Math.min(Math.max(1, width - 1), Math.max(activation === 'tanh' ? 2 : 1, h));
}

/** Code units without activation (the first ones): all, none, or a hybrid's share. */
function linearUnitsOf(activation: VectorActivation, H: number, F: number, asked?: number): number {
  if (activation === 'linear') return H;
  if (activation === 'tanh') return 0;
  if (asked !== undefined && asked >= H) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `linear_units (${asked}) must be below hidden (${H}): a hybrid keeps at least one tanh unit`,
    );
  }
  // A bottleneck of one unit has no room for both kinds: it is linear.
  return asked ?? Math.max(1, Math.min(H - 1, Math.round((5 * F) / 8)));
}

/** Complete training windows needed at the least: max(this, window × metrics). */
export const MIN_TRAINING_WINDOWS = 20;

export type VectorAutoencoderParams = z.input<typeof vectorAutoencoderParamsSchema>;

export interface TrainedVectorAutoencoder {
  readonly window: number;
  readonly dimensions: number;
  readonly hidden: number;
  /** Per metric. */
  readonly mean: Float32Array;
  readonly std: Float32Array;
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
  readonly activation: VectorActivation;
  /** Leading code units without activation (the rest are tanh). */
  readonly linearUnits: number;
  readonly epochs: number;
  readonly seed: number;
  readonly windows: number;
  readonly finalLoss: number;
}

/** Trains on rows assumed normal; rows with a missing value break windows. Deterministic. */
export function trainVectorAutoencoder(
  rows: readonly ArrayLike<number>[],
  input: VectorAutoencoderParams,
): TrainedVectorAutoencoder {
  const parsed = vectorAutoencoderParamsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new VigilError('VIGIL_ERR_USAGE', `training parameters: ${problems.join('; ')}`);
  }
  const params = parsed.data;
  const d = rows[0]?.length ?? 0;
  if (d < 1) throw new VigilError('VIGIL_ERR_INPUT', 'training needs rows of at least one metric');
  const W = params.window;
  const F = W * d;
  const H = params.hidden ?? defaultHidden(F, params.activation);
  if (H >= F) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `hidden (${H}) must be smaller than window × metrics (${F})`,
    );
  }
  const complete = (row: ArrayLike<number>): boolean => {
    for (let j = 0; j < d; j++) if (!Number.isFinite(row[j])) return false;
    return row.length === d;
  };
  const ends: number[] = [];
  let run = 0;
  rows.forEach((row, t) => {
    run = complete(row) ? run + 1 : 0;
    if (run >= W) ends.push(t);
  });
  // Fewer windows than inputs leave the network free to memorise them; the `onnx` detector
  // calibrates on at least 20 windows too.
  const needed = Math.max(MIN_TRAINING_WINDOWS, F);
  if (ends.length < needed) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `training a window of ${W} vectors of ${d} metrics needs at least ${needed} complete ` +
        `windows (${W - 1 + needed} rows in a row without a missing value), found ${ends.length}`,
    );
  }
  const { mean, std } = standardisation(rows, d, complete);
  const picked = evenly(ends, params.max_windows);
  const x = new Float64Array(picked.length * F);
  picked.forEach((end, s) => {
    for (let p = 0; p < W; p++) {
      const row = rows[end - W + 1 + p]!;
      for (let j = 0; j < d; j++) x[s * F + p * d + j] = (row[j]! - mean[j]!) / std[j]!;
    }
  });
  const L = linearUnitsOf(params.activation, H, F, params.linear_units);
  const fit = fitDenseAutoencoder(x, picked.length, F, H, {
    ...params,
    activation: 'tanh',
    linear_units: L,
  });
  return {
    window: W,
    dimensions: d,
    hidden: H,
    mean: Float32Array.from(mean),
    std: Float32Array.from(std),
    w1: Float32Array.from(fit.w1),
    b1: Float32Array.from(fit.b1),
    w2: Float32Array.from(fit.w2),
    b2: Float32Array.from(fit.b2),
    activation: params.activation,
    linearUnits: L,
    epochs: params.epochs,
    seed: params.seed,
    windows: picked.length,
    finalLoss: fit.finalLoss,
  };
}

/**
 * The ONNX graph: row → Sub mean → Div std → MatMul w1 → Add b1 → Tanh → MatMul w2 → Add b2 →
 * Mul std → Add mean, with the per-metric mean and std repeated over the window's positions.
 * Input `window` [N, window × metrics], output `reconstruction` of the same shape.
 */
export function vectorAutoencoderToOnnx(
  model: TrainedVectorAutoencoder,
  metrics?: readonly string[],
): Uint8Array {
  const { window: W, dimensions: d, hidden: H } = model;
  if (metrics !== undefined && metrics.length !== d) {
    throw new RangeError(`${metrics.length} metric names for a model of ${d} metrics`);
  }
  const F = W * d;
  const L = model.linearUnits;
  const hybrid = L > 0 && L < H;
  const repeat = (v: Float32Array): Float32Array =>
    Float32Array.from({ length: F }, (_, i) => v[i % d]!);
  const node = (opType: string, inputs: string[], output: string): OnnxNode => ({
    opType,
    inputs,
    outputs: [output],
    name: `${output}_${opType.toLowerCase()}`,
  });
  return encodeOnnxModel({
    graphName: 'vigil_vector_autoencoder',
    docString: `Dense autoencoder ${F}-${H}-${F} (${model.activation}) over windows of ${W} vectors of ${d} metrics, trained by Vigil`,
    nodes: [
      node('Sub', [INPUT_NAME, 'mean'], 'centred'),
      node('Div', ['centred', 'std'], 'scaled'),
      ...(hybrid ? hybridCode(node) : plainCode(node, L === H)),
      node('Add', ['decoded_linear', 'b2'], 'decoded'),
      node('Mul', ['decoded', 'std'], 'rescaled'),
      node('Add', ['rescaled', 'mean'], OUTPUT_NAME),
    ],
    initializers: [
      { name: 'mean', dims: [F], data: repeat(model.mean) },
      { name: 'std', dims: [F], data: repeat(model.std) },
      ...(hybrid
        ? splitWeights(model, F, L)
        : [
            { name: 'w1', dims: [F, H], data: model.w1 },
            { name: 'b1', dims: [H], data: model.b1 },
            { name: 'w2', dims: [H, F], data: model.w2 },
          ]),
      { name: 'b2', dims: [F], data: model.b2 },
    ],
    inputs: [{ name: INPUT_NAME, elemType: ONNX_FLOAT, dims: ['N', F] }],
    outputs: [{ name: OUTPUT_NAME, elemType: ONNX_FLOAT, dims: ['N', F] }],
    metadata: [
      [META_MODEL, VECTOR_AUTOENCODER],
      [META_WINDOW, String(W)],
      [META_DIMENSIONS, String(d)],
      [META_HIDDEN, String(H)],
      [META_EPOCHS, String(model.epochs)],
      [META_SEED, String(model.seed)],
      [META_TRAIN_WINDOWS, String(model.windows)],
      [META_TRAIN_LOSS, String(model.finalLoss)],
      // The normalisation is in the graph; repeated here per metric so a reader can show it.
      [META_MEAN, JSON.stringify(Array.from(model.mean))],
      [META_STD, JSON.stringify(Array.from(model.std))],
      ...(metrics === undefined ? [] : [[META_METRICS, JSON.stringify(metrics)] as const]),
    ],
  });
}

function standardisation(
  rows: readonly ArrayLike<number>[],
  d: number,
  complete: (row: ArrayLike<number>) => boolean,
): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  let n = 0;
  for (const row of rows) {
    if (!complete(row)) continue;
    n++;
    for (let j = 0; j < d; j++) {
      const v = row[j]!;
      const delta = v - mean[j]!;
      mean[j] = mean[j]! + delta / n;
      m2[j] = m2[j]! + delta * (v - mean[j]!);
    }
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(m2[j]! / Math.max(1, n));
    // A flat metric has no scale of its own: unit scale keeps the graph finite.
    std[j] = s > 1e-9 * Math.max(1, Math.abs(mean[j]!)) ? s : 1;
  }
  return { mean, std };
}

function evenly(ends: readonly number[], max: number): number[] {
  if (ends.length <= max) return [...ends];
  return Array.from({ length: max }, (_, i) => ends[Math.floor((i * ends.length) / max)]!);
}

type NodeMaker = (opType: string, inputs: string[], output: string) => OnnxNode;

function plainCode(node: NodeMaker, linear: boolean): OnnxNode[] {
  return [
    node('MatMul', ['scaled', 'w1'], 'encoded_linear'),
    node('Add', ['encoded_linear', 'b1'], 'encoded_biased'),
    // A linear model has no activation: Identity keeps the node names of the tanh graph.
    node(linear ? 'Identity' : 'Tanh', ['encoded_biased'], 'code'),
    node('MatMul', ['code', 'w2'], 'decoded_linear'),
  ];
}

/** A linear code path beside the tanh one, their decodings summed. */
function hybridCode(node: NodeMaker): OnnxNode[] {
  return [
    node('MatMul', ['scaled', 'w1_linear'], 'encoded_l'),
    node('Add', ['encoded_l', 'b1_linear'], 'code_l'),
    node('MatMul', ['scaled', 'w1_tanh'], 'encoded_t'),
    node('Add', ['encoded_t', 'b1_tanh'], 'encoded_t_biased'),
    node('Tanh', ['encoded_t_biased'], 'code_t'),
    node('MatMul', ['code_l', 'w2_linear'], 'decoded_l'),
    node('MatMul', ['code_t', 'w2_tanh'], 'decoded_t'),
    node('Add', ['decoded_l', 'decoded_t'], 'decoded_linear'),
  ];
}

function splitWeights(
  model: TrainedVectorAutoencoder,
  F: number,
  L: number,
): { name: string; dims: number[]; data: Float32Array }[] {
  const H = model.hidden;
  const columns = (from: number, to: number): Float32Array =>
    Float32Array.from({ length: F * (to - from) }, (_, k) => {
      const i = Math.floor(k / (to - from));
      return model.w1[i * H + from + (k % (to - from))]!;
    });
  return [
    { name: 'w1_linear', dims: [F, L], data: columns(0, L) },
    { name: 'b1_linear', dims: [L], data: model.b1.slice(0, L) },
    { name: 'w1_tanh', dims: [F, H - L], data: columns(L, H) },
    { name: 'b1_tanh', dims: [H - L], data: model.b1.slice(L) },
    { name: 'w2_linear', dims: [L, F], data: model.w2.slice(0, L * F) },
    { name: 'w2_tanh', dims: [H - L, F], data: model.w2.slice(L * F) },
  ];
}
