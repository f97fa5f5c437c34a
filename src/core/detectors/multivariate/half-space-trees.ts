import { z } from 'zod';
import type { DetectorSnapshot } from '../detector.js';
import { ratioScore } from '../score-map.js';
import { finiteNumber, parseSnapshot } from '../snapshot-parts.js';
import type { VectorDetectorFactory } from '../vector-detector.js';
import { ADAPT_MODES, isUsable, KEPT_VECTORS, normalise } from './baseline.js';
import { Forest } from './half-space-trees-forest.js';
import { Whitening, whiteningStateSchema } from './half-space-trees-whitening.js';
import type { TrainableVectorDetector } from './trainable.js';
import { VigilError } from '../../../errors.js';

/**
 * Half-space trees on a device's whole metric vector (Tan, Ting & Liu, 2011): seeded random trees
 * halve a work space around the training vectors; the mass of the node where a vector's descent
 * ends, times 2^depth, estimates the density there. The statistic is the rarity ratio, the
 * typical (median) training density over the vector's; its 0.5 boundary is calibrated on the
 * training period's held-out ratios. Explanation: each metric's excess isolation, how much more
 * than a halving its splits cut the mass on the vector's paths. No covariance: it sees
 * multi-modal operation and non-linear relations the covariance detectors flatten.
 * docs/multivariate.md, "vector-hst".
 */
export const VECTOR_HST_KIND = 'vector-hst';

/** Fewest training vectors (mass profiles of fewer are noise). */
export const VECTOR_HST_MINIMUM = 16;

/** Contiguous folds of the held-out calibration. */
const FOLDS = 5;

/** Fewest vectors the `ewma` masses come from: fewer leave most nodes nearly empty. */
const EWMA_WINDOW_MIN = 256;

export const vectorHstParamsSchema = z
  .strictObject({
    /** Vectors learned before scoring starts when no pipeline closes the training period. */
    training_points: z.number().int().min(VECTOR_HST_MINIMUM).max(100_000_000).default(1000),
    /** After training: `frozen` keeps the masses, `ewma` rebuilds them from recent vectors. */
    adapt: z.enum(ADAPT_MODES).default('frozen'),
    /** Under `ewma`, the masses come from the last ⌈1/alpha⌉ vectors (256 to 2048). */
    alpha: z.number().gt(0).max(0.5).default(0.001),
    /** Under `ewma`, learned vectors between rebuilds of the masses. */
    refit_every: z.number().int().min(1).max(1_000_000).default(32),
    /** Split on whitened principal axes (sees broken relations) instead of the raw metrics. */
    whiten: z.boolean().default(true),
    /** Trees; more smooth the estimate at linear cost. */
    trees: z.number().int().min(1).max(256).default(50),
    /** Depth of every tree; memory grows as trees × 2^(height+1). */
    height: z.number().int().min(2).max(16).default(10),
    /** A descent ends at the first node holding fewer build vectors than this. */
    size_limit: z.number().int().min(1).max(65_535).default(8),
    /** Rarity ratio that scores 0.5 at least (the calibration can only raise it). */
    min_ratio: z.number().gt(1).default(16),
    /** Quantile of the held-out training ratios put at the 0.5 boundary, times the margin. */
    calibration_quantile: z.number().gt(0.5).max(1).default(0.995),
    calibration_margin: z.number().min(1).max(10).default(2),
  })
  .refine((p) => p.trees * 2 ** p.height <= 2 ** 20, {
    message: 'trees × 2^height must not exceed 2^20',
    path: ['height'],
  });
export type VectorHstParams = z.infer<typeof vectorHstParamsSchema>;

const count = z.number().int().nonnegative();

const stateSchema = z.object({
  dimensions: z.number().int().positive().max(65_535),
  seed: finiteNumber,
  /** Vectors trained. */
  count,
  closed: z.boolean(),
  /** Training vectors kept (every `stride`-th), flattened. */
  sample: z.array(finiteNumber),
  stride: z.number().int().positive(),
  /** Work space (lower edges, widths) once fitted, else null. */
  space: z.array(finiteNumber).nullable(),
  boundary: finiteNumber,
  /** Under `ewma`: recent vectors, flattened; the masses come from all but the last `sinceRefit`. */
  recent: z.array(finiteNumber),
  refitted: z.boolean(),
  sinceRefit: count,
  whitening: whiteningStateSchema.nullable(),
});
type VectorHstState = z.infer<typeof stateSchema>;

function rowsOf(flat: readonly number[], d: number): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let k = 0; k + d <= flat.length; k += d) rows.push(Float64Array.from(flat.slice(k, k + d)));
  return rows;
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? 0;
}

export class VectorHstDetector implements TrainableVectorDetector {
  readonly kind = VECTOR_HST_KIND;
  readonly dimensions: number;
  readonly params: Readonly<VectorHstParams>;
  private readonly seed: number;
  private readonly forest: Forest;
  private readonly trainingPoints: number;
  /** Vectors the `ewma` masses are built from. */
  private readonly window: number;
  private count = 0;
  private closed = false;
  private sample: number[] = [];
  private stride = 1;
  private fitted = false;
  private boundary: number;
  /** Median density of the build vectors: what a typical vector scores. */
  private expected = 0;
  private recent: number[] = [];
  private refitted = false;
  private sinceRefit = 0;
  private lastScore = 0;
  private whitening: Whitening | null = null;
  /** Tree coordinates of the vector being scored. */
  private readonly w: Float64Array;
  /** Per tree axis: excess isolation, and the whole log mass ratio (fallback). */
  private readonly blame: Float64Array;
  private readonly raw: Float64Array;
  /** Each metric's share of the last score. */
  private readonly shares: Float64Array;

  constructor(params: VectorHstParams, dimensions: number, seed: number, state?: VectorHstState) {
    if (dimensions > 65_535) throw new RangeError(`at most 65535 metrics, got ${dimensions}`);
    this.params = Object.freeze({ ...params });
    this.dimensions = dimensions;
    this.seed = seed;
    const { trees, height, size_limit } = params;
    this.forest = new Forest(dimensions, trees, height, size_limit, seed);
    this.trainingPoints = Math.max(params.training_points, VECTOR_HST_MINIMUM);
    this.window = Math.min(KEPT_VECTORS, Math.max(EWMA_WINDOW_MIN, Math.ceil(1 / params.alpha)));
    this.boundary = params.min_ratio;
    this.blame = new Float64Array(dimensions);
    this.raw = new Float64Array(dimensions);
    this.w = new Float64Array(dimensions);
    this.shares = new Float64Array(dimensions);
    if (state) this.restoreState(state);
  }

  get trainingClosed(): boolean {
    return this.closed;
  }

  get trainedVectors(): number {
    return this.count;
  }

  get minimumTraining(): number {
    return VECTOR_HST_MINIMUM;
  }

  score(_timeMs: number, values: Float64Array): number {
    this.lastScore = 0;
    if (!isUsable(values, this.dimensions) || !this.fitted) return 0;
    this.blame.fill(0);
    this.raw.fill(0);
    this.coordinates(values, this.w);
    const density = this.forest.density(this.w, this.blame, this.raw);
    const ratio = this.expected / density;
    this.lastScore = ratioScore(ratio, this.boundary);
    if (this.lastScore > 0) this.explain();
    return this.lastScore;
  }

  contributions(out: Float64Array): void {
    if (this.lastScore === 0) out.fill(0);
    else out.set(this.shares);
  }

  /** The metrics' shares from the axes' blame, falling back to the raw ratios, then evenly. */
  private explain(): void {
    const out = this.shares;
    for (const axes of [this.blame, this.raw]) {
      if (this.whitening) this.whitening.toMetrics(axes, this.w, out);
      else out.set(axes);
      normalise(out);
      if (out.some((v) => v > 0)) return;
    }
    out.fill(1 / this.dimensions);
  }

  /** The vector in the trees' coordinates (whitened when fitted so), into `out`. */
  private coordinates(values: Float64Array, out: Float64Array): Float64Array {
    if (this.whitening) this.whitening.transform(values, out);
    else out.set(values);
    return out;
  }

  private allCoordinates(rows: readonly Float64Array[]): Float64Array[] {
    return rows.map((row) => this.coordinates(row, new Float64Array(this.dimensions)));
  }

  learn(_timeMs: number, values: Float64Array): void {
    if (!isUsable(values, this.dimensions)) return;
    if (!this.fitted) {
      this.keep(values);
      if (this.count >= this.trainingPoints) this.fit();
      return;
    }
    if (this.params.adapt === 'frozen') return;
    for (const v of values) this.recent.push(v);
    if (++this.sinceRefit < this.params.refit_every) return;
    const d = this.dimensions;
    this.recent = this.recent.slice(Math.max(0, this.recent.length - this.window * d));
    this.sinceRefit = 0;
    this.refitted = true;
    this.sample = [];
    this.rebuild(this.allCoordinates(rowsOf(this.recent, d)));
  }

  train(timeMs: number, values: Float64Array): void {
    if (!isUsable(values, this.dimensions)) return;
    if (this.closed) {
      this.learn(timeMs, values);
      return;
    }
    this.keep(values);
    // Fitted already by learn(): the masses must stay those of the kept sample.
    if (this.fitted) this.fit();
  }

  update(timeMs: number, values: Float64Array): number {
    const score = this.score(timeMs, values);
    this.learn(timeMs, values);
    return score;
  }

  closeTraining(): Float64Array {
    if (this.count < VECTOR_HST_MINIMUM) {
      throw new VigilError(
        'VIGIL_ERR_STRATEGY_INVALID',
        `detector '${this.kind}' on ${this.dimensions} metrics needs a training period of at ` +
          `least ${VECTOR_HST_MINIMUM} usable vectors; it got ${this.count}`,
      );
    }
    this.closed = true;
    const held = this.fit();
    return Float64Array.from(held, (r) => ratioScore(r, this.boundary));
  }

  snapshot(): DetectorSnapshot {
    const state: VectorHstState = {
      dimensions: this.dimensions,
      seed: this.seed,
      count: this.count,
      closed: this.closed,
      sample: [...this.sample],
      stride: this.stride,
      space: this.fitted ? this.forest.workSpace : null,
      boundary: this.boundary,
      recent: [...this.recent],
      refitted: this.refitted,
      sinceRefit: this.sinceRefit,
      whitening: this.whitening?.state() ?? null,
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  /** Keep every `stride`-th trained vector, halving the sample when it is full. */
  private keep(values: Float64Array): void {
    const index = this.count++;
    if (index % this.stride !== 0) return;
    for (const v of values) this.sample.push(v);
    const d = this.dimensions;
    if (this.sample.length < KEPT_VECTORS * d) return;
    const halved: number[] = [];
    for (let k = 0; k < this.sample.length; k += 2 * d) {
      for (let j = 0; j < d; j++) halved.push(this.sample[k + j] as number);
    }
    this.sample = halved;
    this.stride *= 2;
  }

  /**
   * Fit on the kept sample: work space, masses, and the boundary calibrated on the held-out
   * ratios (each kept vector under masses of the other folds). Returns those ratios.
   */
  private fit(): number[] {
    const d = this.dimensions;
    const raw = rowsOf(this.sample, d);
    this.whitening = this.params.whiten ? Whitening.of(raw) : null;
    const rows = this.allCoordinates(raw);
    this.forest.drawWorkSpace(rows, this.seed);
    const held = this.heldOut(rows);
    this.boundary = this.params.min_ratio;
    if (held.length > 0) {
      const sorted = [...held].sort((a, b) => a - b);
      const at = Math.min(
        sorted.length - 1,
        Math.floor(this.params.calibration_quantile * sorted.length),
      );
      this.boundary = Math.max(
        this.boundary,
        (sorted[at] as number) * this.params.calibration_margin,
      );
    }
    this.rebuild(rows);
    this.fitted = true;
    this.refitted = false;
    this.sinceRefit = 0;
    this.recent = this.params.adapt === 'ewma' ? this.sample.slice(-this.window * d) : [];
    return held;
  }

  private heldOut(rows: readonly Float64Array[]): number[] {
    const n = rows.length;
    const folds = Math.min(FOLDS, Math.floor(n / VECTOR_HST_MINIMUM));
    if (folds < 2) return [];
    const held = new Array<number>(n).fill(0);
    for (let f = 0; f < folds; f++) {
      this.rebuild(rows.filter((_, i) => i % folds !== f));
      for (let i = f; i < n; i += folds) {
        const density = this.forest.density(rows[i]!);
        held[i] = this.expected / density;
      }
    }
    return held;
  }

  /** Masses and the typical density of `rows`. */
  private rebuild(rows: readonly Float64Array[]): void {
    this.forest.build(rows);
    this.expected = median(rows.map((row) => this.forest.density(row)));
  }

  private restoreState(state: VectorHstState): void {
    const d = this.dimensions;
    for (const [name, flat] of [
      ['sample', state.sample],
      ['recent', state.recent],
    ] as const) {
      if (flat.length % d !== 0) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          `${this.kind}: ${flat.length} ${name} values are not whole vectors of ${d}`,
        );
      }
    }
    if (state.space && state.space.length !== 2 * d) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        `${this.kind}: a work space of ${state.space.length} values, expected ${2 * d}`,
      );
    }
    this.count = state.count;
    this.closed = state.closed;
    this.sample = [...state.sample];
    this.stride = state.stride;
    this.boundary = state.boundary;
    this.recent = [...state.recent];
    this.refitted = state.refitted;
    this.sinceRefit = state.sinceRefit;
    this.whitening = state.whitening && Whitening.fromState(state.whitening, d);
    if (state.space) {
      this.forest.setWorkSpace(state.space);
      this.fitted = true;
      const from = this.refitted
        ? this.recent.slice(0, this.recent.length - this.sinceRefit * d)
        : this.sample;
      this.rebuild(this.allCoordinates(rowsOf(from, d)));
    }
  }
}

export const vectorHstFactory: VectorDetectorFactory<VectorHstParams> = {
  kind: VECTOR_HST_KIND,
  description:
    'Half-space trees on the metric vector; rarity ratio of the node density, calibrated on the training period',
  paramsSchema: vectorHstParamsSchema,
  create: (params, dimensions, seed) => new VectorHstDetector(params, dimensions, seed),
  minimumTraining: () => VECTOR_HST_MINIMUM,
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(
      snapshot,
      VECTOR_HST_KIND,
      vectorHstParamsSchema,
      stateSchema,
    );
    return new VectorHstDetector(params, state.dimensions, state.seed, state);
  },
};
