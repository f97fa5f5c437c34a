import { z } from 'zod';
import { Rng } from '../core/stats/rng.js';
import { VigilError } from '../errors.js';
import { calibrationOf, type ErrorCalibration } from './calibration.js';

export const autoencoderParamsSchema = z.strictObject({
  /** Points per window: the model's input and output length. */
  window: z.number().int().min(4).max(4096),
  /** Bottleneck width; default a quarter of the window (at least 2). Must be below the window. */
  hidden: z.number().int().min(1).optional(),
  /** Passes over the training windows. */
  epochs: z.number().int().min(1).max(10_000).default(30),
  batch_size: z.number().int().min(1).max(4096).default(32),
  /** Adam step size. */
  learning_rate: z.number().positive().max(1).default(0.005),
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  /** Cap on training windows (evenly spaced over the series) so long inputs train in bounded time. */
  max_windows: z.number().int().min(10).default(20_000),
});

export type AutoencoderParams = z.infer<typeof autoencoderParamsSchema>;

/**
 * A dense autoencoder window → hidden (tanh) → window (linear) on standardised values, as float32
 * numbers exactly as written to ONNX. Row-major: `w1[i * hidden + j]` maps input i to hidden j,
 * `w2[j * window + k]` maps hidden j to output k.
 */
export interface TrainedAutoencoder {
  readonly window: number;
  readonly hidden: number;
  /** Standardisation applied inside the graph: (x - mean) / std, undone after decoding. */
  readonly mean: number;
  readonly std: number;
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
  readonly training: TrainingSummary;
}

export interface TrainingSummary {
  readonly epochs: number;
  readonly seed: number;
  /** Windows used for gradient steps (after the `max_windows` cap). */
  readonly windows: number;
  /** Mean squared error on standardised values over the last epoch. */
  readonly finalLoss: number;
  /**
   * From the reconstruction errors of every complete window of the training series: typical =
   * their median (scores 0), boundary = their q99.9 (scores 0.5).
   */
  readonly calibration: ErrorCalibration;
}

/**
 * Trains on a series assumed normal. Windows containing a missing value (NaN) are skipped.
 * Deterministic: the same values and params give bit-identical weights (seeded initialisation
 * and shuffling, fixed summation order).
 */
export function trainAutoencoder(
  values: ArrayLike<number>,
  input: z.input<typeof autoencoderParamsSchema>,
): TrainedAutoencoder {
  const parsed = autoencoderParamsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new VigilError('VIGIL_ERR_USAGE', `training parameters: ${problems.join('; ')}`);
  }
  const params = parsed.data;
  const W = params.window;
  const H = params.hidden ?? Math.max(2, Math.round(W / 4));
  if (H >= W) {
    throw new VigilError('VIGIL_ERR_USAGE', `hidden (${H}) must be smaller than window (${W})`);
  }
  const starts = completeWindowStarts(values, W);
  if (starts.length < 10) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `training needs at least 10 complete windows of ${W} points, found ${starts.length}`,
    );
  }
  const { mean, std } = standardisation(values);
  const sample = evenlySpaced(starts, params.max_windows);
  const m = sample.length;
  const x = new Float64Array(m * W);
  for (let s = 0; s < m; s++) {
    for (let i = 0; i < W; i++) x[s * W + i] = (values[sample[s]! + i]! - mean) / std;
  }

  const { w1, b1, w2, b2, finalLoss } = fitDenseAutoencoder(x, m, W, H, params);

  const weights = {
    window: W,
    hidden: H,
    mean: Math.fround(mean),
    std: Math.fround(std),
    w1: Float32Array.from(w1),
    b1: Float32Array.from(b1),
    w2: Float32Array.from(w2),
    b2: Float32Array.from(b2),
  };
  // Calibrate with the float32 weights over every window: the numbers a runtime will reproduce.
  const errors = new Float64Array(starts.length);
  const out = new Float64Array(W);
  for (let s = 0; s < starts.length; s++) {
    errors[s] = reconstructionError(weights, values, starts[s]!, out);
  }
  errors.sort();
  // Floor: a reconstruction within 0.01% of the series' scale is never an anomaly (float noise).
  const boundary = Math.max(quantileSorted(errors, 0.999), (1e-4 * weights.std) ** 2);
  return {
    ...weights,
    training: {
      epochs: params.epochs,
      seed: params.seed,
      windows: m,
      finalLoss,
      calibration: calibrationOf(quantileSorted(errors, 0.5), boundary),
    },
  };
}

/** Optional regularisation of `fitDenseAutoencoder`; both 0 (none) unless given. */
export interface Regularisation {
  /** L2 penalty on the weights (not the biases), added to the gradient as decay × weight. */
  readonly weight_decay?: number;
  /**
   * Denoising: standard deviation of the Gaussian noise added to each standardised input (the
   * target stays clean), so the network maps the neighbourhood of normal windows onto them.
   */
  readonly noise?: number;
  /** The code layer's activation: tanh (default) or none (a linear autoencoder). */
  readonly activation?: 'tanh' | 'linear';
  /** The first this many code units stay linear (a linear path beside the tanh one). */
  readonly linear_units?: number;
}

/**
 * The gradient descent behind every Vigil autoencoder: a dense W → H (tanh) → W (linear) network
 * fitted by Adam on `m` standardised rows of `x` (row-major, m × W). Deterministic for a seed.
 */
export function fitDenseAutoencoder(
  x: Float64Array,
  m: number,
  W: number,
  H: number,
  params: Pick<AutoencoderParams, 'epochs' | 'batch_size' | 'learning_rate' | 'seed'> &
    Regularisation,
): { w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: Float64Array; finalLoss: number } {
  // All parameters in one vector so Adam is a single loop; views name the parts.
  const sizes: Four<number> = [W * H, H, H * W, W];
  const total = sizes.reduce((a, b) => a + b, 0);
  const theta = new Float64Array(total);
  const grad = new Float64Array(total);
  const [w1, b1, w2, b2] = views(theta, sizes);
  const [g1, gb1, g2, gb2] = views(grad, sizes);
  const rng = Rng.fromSeed(params.seed);
  const limit = Math.sqrt(6 / (W + H)); // Glorot uniform: keeps tanh out of saturation at start
  for (let i = 0; i < W * H; i++) w1[i] = rng.uniform(-limit, limit);
  for (let i = 0; i < H * W; i++) w2[i] = rng.uniform(-limit, limit);

  const adamM = new Float64Array(total);
  const adamV = new Float64Array(total);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  const order = Int32Array.from({ length: m }, (_, i) => i);
  const h = new Float64Array(H);
  const dz = new Float64Array(H);
  const dy = new Float64Array(W);
  const input = new Float64Array(W);
  const decay = params.weight_decay ?? 0;
  const noise = params.noise ?? 0;
  const linearUnits = params.activation === 'linear' ? H : Math.min(H, params.linear_units ?? 0);
  // Its own stream, so that without noise the shuffles (and weights) are those of before.
  const noiseRng = Rng.fromSeed(params.seed ^ 0x5eed);
  let finalLoss = 0;

  for (let epoch = 0; epoch < params.epochs; epoch++) {
    shuffle(order, rng);
    let epochLoss = 0;
    for (let first = 0; first < m; first += params.batch_size) {
      const last = Math.min(m, first + params.batch_size);
      const scale = 2 / ((last - first) * W);
      grad.fill(0);
      for (let b = first; b < last; b++) {
        const base = order[b]! * W;
        for (let i = 0; i < W; i++) {
          input[i] = noise > 0 ? x[base + i]! + noise * gaussian(noiseRng) : x[base + i]!;
        }
        for (let j = 0; j < H; j++) h[j] = b1[j]!;
        for (let i = 0; i < W; i++) {
          const xi = input[i]!;
          const row = i * H;
          for (let j = 0; j < H; j++) h[j] = h[j]! + xi * w1[row + j]!;
        }
        for (let j = linearUnits; j < H; j++) h[j] = Math.tanh(h[j]!);
        for (let k = 0; k < W; k++) dy[k] = b2[k]!;
        for (let j = 0; j < H; j++) {
          const hj = h[j]!;
          const row = j * W;
          for (let k = 0; k < W; k++) dy[k] = dy[k]! + hj * w2[row + k]!;
        }
        for (let k = 0; k < W; k++) {
          const diff = dy[k]! - x[base + k]!;
          epochLoss += diff * diff;
          dy[k] = scale * diff;
          gb2[k] = gb2[k]! + dy[k]!;
        }
        for (let j = 0; j < H; j++) {
          const hj = h[j]!;
          const row = j * W;
          let back = 0;
          for (let k = 0; k < W; k++) {
            g2[row + k] = g2[row + k]! + hj * dy[k]!;
            back += w2[row + k]! * dy[k]!;
          }
          dz[j] = j < linearUnits ? back : back * (1 - hj * hj);
          gb1[j] = gb1[j]! + dz[j]!;
        }
        for (let i = 0; i < W; i++) {
          const xi = input[i]!;
          const row = i * H;
          for (let j = 0; j < H; j++) g1[row + j] = g1[row + j]! + xi * dz[j]!;
        }
      }
      if (decay > 0) {
        for (let p = 0; p < W * H; p++) g1[p] = g1[p]! + decay * w1[p]!;
        for (let p = 0; p < H * W; p++) g2[p] = g2[p]! + decay * w2[p]!;
      }
      step++;
      const lr = (params.learning_rate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
      for (let p = 0; p < total; p++) {
        const g = grad[p]!;
        adamM[p] = beta1 * adamM[p]! + (1 - beta1) * g;
        adamV[p] = beta2 * adamV[p]! + (1 - beta2) * g * g;
        theta[p] = theta[p]! - (lr * adamM[p]!) / (Math.sqrt(adamV[p]!) + 1e-8);
      }
    }
    finalLoss = epochLoss / (m * W);
  }

  return { w1, b1, w2, b2, finalLoss };
}

/** A standard normal draw (Box–Muller). */
function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

type Weights = Omit<TrainedAutoencoder, 'training'>;

/**
 * The reference forward pass, the same graph the ONNX file holds, in float64: writes the
 * reconstruction of `values[start .. start + window)` into `out` (raw units).
 */
export function reconstruct(
  model: Weights,
  values: ArrayLike<number>,
  start: number,
  out: Float64Array,
): void {
  const { window: W, hidden: H, mean, std, w1, b1, w2, b2 } = model;
  const h = new Float64Array(H);
  for (let j = 0; j < H; j++) h[j] = b1[j]!;
  for (let i = 0; i < W; i++) {
    const xi = (values[start + i]! - mean) / std;
    for (let j = 0; j < H; j++) h[j] = h[j]! + xi * w1[i * H + j]!;
  }
  for (let j = 0; j < H; j++) h[j] = Math.tanh(h[j]!);
  for (let k = 0; k < W; k++) {
    let y = b2[k]!;
    for (let j = 0; j < H; j++) y += h[j]! * w2[j * W + k]!;
    out[k] = y * std + mean;
  }
}

/** Mean squared difference between a window and its reconstruction, in raw units squared. */
export function reconstructionError(
  model: Weights,
  values: ArrayLike<number>,
  start: number,
  scratch: Float64Array,
): number {
  reconstruct(model, values, start, scratch);
  let sum = 0;
  for (let k = 0; k < model.window; k++) {
    const d = scratch[k]! - values[start + k]!;
    sum += d * d;
  }
  return sum / model.window;
}

/** Start indexes of the windows of length `window` that contain no missing value. */
export function completeWindowStarts(values: ArrayLike<number>, window: number): Int32Array {
  const starts: number[] = [];
  let run = 0;
  for (let i = 0; i < values.length; i++) {
    run = Number.isFinite(values[i]) ? run + 1 : 0;
    if (run >= window) starts.push(i - window + 1);
  }
  return Int32Array.from(starts);
}

/** Linear interpolation between order statistics (the common "type 7" definition). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

function standardisation(values: ArrayLike<number>): { mean: number; std: number } {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
  }
  const std = Math.sqrt(m2 / Math.max(1, n));
  // A flat training series has no scale of its own: unit scale keeps the graph finite.
  return { mean, std: std > 1e-9 * Math.max(1, Math.abs(mean)) ? std : 1 };
}

function evenlySpaced(starts: Int32Array, max: number): Int32Array {
  if (starts.length <= max) return starts;
  const out = new Int32Array(max);
  for (let i = 0; i < max; i++) out[i] = starts[Math.floor((i * starts.length) / max)]!;
  return out;
}

type Four<T> = [T, T, T, T];

function views(vector: Float64Array, sizes: Four<number>): Four<Float64Array> {
  const [a, b, c] = sizes;
  return [
    vector.subarray(0, a),
    vector.subarray(a, a + b),
    vector.subarray(a + b, a + b + c),
    vector.subarray(a + b + c),
  ];
}

function shuffle(order: Int32Array, rng: Rng): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
}
