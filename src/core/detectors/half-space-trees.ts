import { z } from 'zod';
import { Rng } from '../stats/rng.js';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import type { ExplainingDetector, Explanation } from './explanation.js';
import { ratioScore } from './score-map.js';
import { finiteNumber, parseSnapshot } from './snapshot-parts.js';
import { VigilError } from '../../errors.js';

/**
 * Streaming half-space trees (Tan, Ting & Liu, 2011) over a shingle of recent residuals: each
 * value becomes a standardised residual against an EW baseline, the trees' mass profiles of the
 * reference window say how rare the point's region is, and `bits = log2(expected / mass)` maps to
 * the score (0.5 at 4.5 bits). Features, trees, the boundary's measurements and what the trees
 * cannot see: docs/detectors.md, "half-space-trees".
 */

/** Residual z at the edges of the unit interval of a feature. */
const EDGE_Z = 8;
/** Residuals learnt by the slow statistics are clipped to ±WINSOR σ. */
const WINSOR = 4;
/** Residuals seen before the slow statistics are trusted to place points in the trees. */
const STATS_WARMUP = 20;
/** Far beyond the work space; keeps the statistics finite for absurd inputs. */
const Z_CAP = 1e6;
/** Rarity (in bits, relative to a typical reference point) that maps to score 0.5. */
const BOUNDARY_BITS = 4.5;
/** Share of the window at or below which a node's reference mass ends the descent (paper). */
const SIZE_LIMIT_SHARE = 0.1;

export const HALF_SPACE_TREES_KIND = 'half-space-trees';

export const halfSpaceTreesParamsSchema = z
  .strictObject({
    /** Number of trees; more trees smooth the estimate at linear cost. */
    trees: z.number().int().min(1).max(256).default(25),
    /** Depth of every tree; memory and snapshot size grow as 2^height per tree. */
    height: z.number().int().min(2).max(16).default(10),
    /** Points per mass window (the reference profile is the previous window). */
    window_size: z.number().int().min(10).max(65_535).default(250),
    /** Number of recent residuals in the feature vector (dimensions of the trees). */
    shingle: z.number().int().min(1).max(64).default(4),
    /** Weight of the newest value in the fast baseline the residuals are taken against. */
    baseline_alpha: z.number().gt(0).max(1).default(0.3),
    /** Weight of the newest residual in the slow mean/std that standardises residuals. */
    norm_alpha: z.number().gt(0).max(0.5).default(0.002),
  })
  .refine((p) => p.trees * 2 ** p.height <= 2 ** 22, {
    // About 50 MB of typed arrays: far beyond any sensible per-series detector.
    message: 'trees × 2^height must not exceed 2^22',
    path: ['height'],
  });

export type HalfSpaceTreesParams = z.infer<typeof halfSpaceTreesParamsSchema>;

const count = z.number().int().nonnegative();
const mass = count.max(65_535);
/** The generator's words are 32-bit integers, signed or unsigned depending on the operation. */
const word = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 32 - 1);

const stateSchema = z.object({
  rng: z.tuple([word, word, word, word]),
  dims: z.array(count),
  splits: z.array(finiteNumber),
  reference: z.array(mass),
  latest: z.array(mass),
  expected: finiteNumber,
  hasReference: z.boolean(),
  windowCount: count,
  shingle: z.array(finiteNumber),
  baseline: finiteNumber,
  values: count,
  residuals: count,
  residualMean: finiteNumber,
  residualVar: finiteNumber,
});

export type HalfSpaceTreesState = z.infer<typeof stateSchema>;

/** Position of a standardised residual in the unit work space. */
function place(zScore: number): number {
  return 0.5 + zScore / (2 * EDGE_Z);
}

export class HalfSpaceTrees implements Detector, ExplainingDetector {
  readonly kind = HALF_SPACE_TREES_KIND;
  readonly params: Readonly<HalfSpaceTreesParams>;

  private readonly internalNodes: number;
  private readonly nodesPerTree: number;
  private readonly sizeLimit: number;
  /** Split dimension and value per internal node, trees back to back. */
  private readonly dims: Uint8Array;
  private readonly splits: Float32Array;
  /** Mass per node, trees back to back (`window_size` ≤ 65535 fits). Swapped every window. */
  private reference: Uint16Array;
  private latest: Uint16Array;
  /** Summed mass score expected for a reference point; meaningful once `hasReference`. */
  private expected = 0;
  private hasReference = false;
  /** Points added to `latest` in the current window. */
  private windowCount = 0;
  /** Placed residuals, newest first. */
  private readonly shingleBuf: Float64Array;
  /** Feature vector of the point being handled (newest first). */
  private readonly candidate: Float64Array;
  private baseline = 0;
  private values = 0;
  private residuals = 0;
  private residualMean = 0;
  private residualVar = 0;
  /** Drew the trees; carried in snapshots so the seeded state is complete. */
  private readonly rng: Rng;
  /** Standardised residual of the value last passed to `features`. */
  private lastZ = 0;

  private constructor(params: HalfSpaceTreesParams, rng: Rng) {
    this.params = Object.freeze({ ...params });
    const { trees, height, shingle } = params;
    this.internalNodes = 2 ** height - 1;
    this.nodesPerTree = 2 ** (height + 1) - 1;
    this.sizeLimit = Math.floor(SIZE_LIMIT_SHARE * params.window_size);
    this.dims = new Uint8Array(trees * this.internalNodes);
    this.splits = new Float32Array(trees * this.internalNodes);
    this.reference = new Uint16Array(trees * this.nodesPerTree);
    this.latest = new Uint16Array(trees * this.nodesPerTree);
    this.shingleBuf = new Float64Array(shingle);
    this.candidate = new Float64Array(shingle);
    this.rng = rng;
  }

  static create(params: HalfSpaceTreesParams, seed: number): HalfSpaceTrees {
    const detector = new HalfSpaceTrees(params, Rng.fromSeed(seed));
    detector.buildTrees();
    return detector;
  }

  static restore(snapshot: DetectorSnapshot): HalfSpaceTrees {
    const { params, state } = parseSnapshot(
      snapshot,
      HALF_SPACE_TREES_KIND,
      halfSpaceTreesParamsSchema,
      stateSchema,
    );
    const detector = new HalfSpaceTrees(params, Rng.fromState(state.rng));
    detector.load(state);
    return detector;
  }

  score(_timeMs: number, value: number): number {
    if (value - value !== 0 || !this.hasReference || !this.features(value)) return 0;
    return this.descend(true, false);
  }

  learn(_timeMs: number, value: number): void {
    if (value - value !== 0) return;
    if (this.features(value)) this.descend(false, true);
    this.absorb(value);
  }

  update(_timeMs: number, value: number): number {
    // `value - value` is NaN exactly for NaN and ±Infinity.
    if (value - value !== 0) return 0;
    const score = this.features(value) ? this.descend(this.hasReference, true) : 0;
    this.absorb(value);
    return score;
  }

  /**
   * Evidence only: the trees measure how rare the point's region is, not a distance from an
   * expected value, so there is no expected value or band to give. `score` only writes the
   * scratch features that the next `learn` recomputes, so this leaves the state as it was.
   */
  explain(timeMs: number, value: number): Explanation {
    const warm = this.hasReference && this.residuals >= STATS_WARMUP + this.params.shingle;
    if (value - value !== 0 || !warm) return { expected: null, band: null, evidence: [] };
    return {
      expected: null,
      band: null,
      evidence: [{ name: 'rarity', score: this.score(timeMs, value) }],
    };
  }

  snapshot(): DetectorSnapshot {
    const state: HalfSpaceTreesState = {
      rng: this.rng.state(),
      dims: Array.from(this.dims),
      splits: Array.from(this.splits),
      reference: Array.from(this.reference),
      latest: Array.from(this.latest),
      expected: this.expected,
      hasReference: this.hasReference,
      windowCount: this.windowCount,
      shingle: Array.from(this.shingleBuf),
      baseline: this.baseline,
      values: this.values,
      residuals: this.residuals,
      residualMean: this.residualMean,
      residualVar: this.residualVar,
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  private buildTrees(): void {
    const { trees, shingle } = this.params;
    const lo = new Float64Array(shingle);
    const hi = new Float64Array(shingle);
    for (let t = 0; t < trees; t++) {
      for (let q = 0; q < shingle; q++) {
        const s = this.rng.next();
        const reach = 2 * Math.max(s, 1 - s);
        lo[q] = s - reach;
        hi[q] = s + reach;
      }
      this.buildNode(t * this.internalNodes, 0, 0, lo, hi);
    }
  }

  /** Fill one subtree; `lo`/`hi` hold the node's box and are restored before returning. */
  private buildNode(
    base: number,
    node: number,
    depth: number,
    lo: Float64Array,
    hi: Float64Array,
  ): void {
    if (depth === this.params.height) return;
    const q = this.rng.int(this.params.shingle);
    const low = lo[q] as number;
    const high = hi[q] as number;
    const mid = (low + high) / 2;
    this.dims[base + node] = q;
    this.splits[base + node] = mid;
    hi[q] = mid;
    this.buildNode(base, 2 * node + 1, depth + 1, lo, hi);
    hi[q] = high;
    lo[q] = mid;
    this.buildNode(base, 2 * node + 2, depth + 1, lo, hi);
    lo[q] = low;
  }

  /**
   * Standardise `value` (kept in `lastZ`) and fill `candidate`; false while the statistics are
   * too young for the point to be placed in the trees.
   */
  private features(value: number): boolean {
    const sd = this.std();
    // Clamped so that even absurd finite inputs keep every statistic finite.
    const raw = (value - this.baseline - this.residualMean) / sd;
    const zScore = raw > Z_CAP ? Z_CAP : raw < -Z_CAP ? -Z_CAP : raw;
    this.lastZ = zScore;
    // Every slot of the shingle must hold a residual standardised by trusted statistics.
    if (this.residuals < STATS_WARMUP + this.params.shingle) return false;
    const cand = this.candidate;
    const ring = this.shingleBuf;
    cand[0] = place(zScore);
    for (let j = 1; j < cand.length; j++) cand[j] = ring[j - 1] as number;
    return true;
  }

  /** Residual std with a floor relative to the level, so a constant series does not divide by 0. */
  private std(): number {
    return Math.sqrt(this.residualVar) + 1e-12 + 1e-9 * Math.abs(this.baseline);
  }

  /**
   * Walk every tree along the candidate's path, scoring it against the reference profile and/or
   * adding it to the latest one down to the leaves. Returns the score (0 when not scoring).
   */
  private descend(scoring: boolean, learning: boolean): number {
    const { trees, height } = this.params;
    const cand = this.candidate;
    const dims = this.dims;
    const splits = this.splits;
    const reference = this.reference;
    const latest = this.latest;
    const limit = this.sizeLimit;
    const nodesPerTree = this.nodesPerTree;
    const internalNodes = this.internalNodes;
    let mass = 0;
    for (let t = 0; t < trees; t++) {
      const massBase = t * nodesPerTree;
      const splitBase = t * internalNodes;
      let node = 0;
      let open = scoring;
      let volume = 1; // 2^depth: each split halves the cell
      for (let depth = 0; ; depth++) {
        if (open) {
          const r = reference[massBase + node] as number;
          if (depth === height || r <= limit) {
            mass += (r + 1) * volume;
            open = false;
            if (!learning) break;
          }
        }
        if (learning) latest[massBase + node] = (latest[massBase + node] as number) + 1;
        if (depth === height) break;
        const i = splitBase + node;
        node = 2 * node + ((cand[dims[i] as number] as number) < (splits[i] as number) ? 1 : 2);
        volume *= 2;
      }
    }
    // Score before a possible swap: it belongs to the reference it was measured against.
    const score = scoring ? ratioScore(Math.log2(this.expected / mass), BOUNDARY_BITS) : 0;
    if (learning && ++this.windowCount === this.params.window_size) this.swapWindows();
    return score;
  }

  /** The latest profile becomes the reference; its expected mass score is summed once here. */
  private swapWindows(): void {
    const previous = this.reference;
    this.reference = this.latest;
    this.latest = previous;
    this.latest.fill(0);
    this.windowCount = 0;
    this.hasReference = true;
    let sum = 0;
    for (let t = 0; t < this.params.trees; t++)
      sum += this.expectedMass(t * this.nodesPerTree, 0, 0);
    this.expected = sum / this.params.window_size;
  }

  /** Σ over the cells where descents stop of r·(r + 1)·2^depth: the mass-weighted tree score. */
  private expectedMass(base: number, node: number, depth: number): number {
    const r = this.reference[base + node] as number;
    if (depth === this.params.height || r <= this.sizeLimit) return r * (r + 1) * 2 ** depth;
    return (
      this.expectedMass(base, 2 * node + 1, depth + 1) +
      this.expectedMass(base, 2 * node + 2, depth + 1)
    );
  }

  /** Fold the value (standardised as `lastZ`) into the baseline, the statistics and the shingle. */
  private absorb(value: number): void {
    this.values++;
    if (this.values === 1) {
      this.baseline = value;
      return;
    }
    const sd = this.std();
    const zScore = this.lastZ;
    const ring = this.shingleBuf;
    for (let j = ring.length - 1; j > 0; j--) ring[j] = ring[j - 1] as number;
    ring[0] = place(zScore);
    this.baseline += this.params.baseline_alpha * (value - this.baseline);
    this.residuals++;
    // Equal weights at first, so the young statistics are plain averages, not biased to 0.
    const alpha = Math.max(this.params.norm_alpha, 1 / this.residuals);
    const clipped =
      this.residuals > STATS_WARMUP ? Math.min(Math.max(zScore, -WINSOR), WINSOR) : zScore;
    const delta = clipped * sd;
    this.residualMean += alpha * delta;
    this.residualVar = (1 - alpha) * (this.residualVar + alpha * delta * delta);
  }

  private load(state: HalfSpaceTreesState): void {
    const fit = (name: string, source: readonly number[], target: { length: number }): void => {
      if (source.length !== target.length) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          `invalid '${HALF_SPACE_TREES_KIND}' snapshot state: ${name} has ${source.length} entries, expected ${target.length}`,
        );
      }
    };
    fit('dims', state.dims, this.dims);
    fit('splits', state.splits, this.splits);
    fit('reference', state.reference, this.reference);
    fit('latest', state.latest, this.latest);
    fit('shingle', state.shingle, this.shingleBuf);
    if (state.dims.some((q) => q >= this.params.shingle)) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        `invalid '${HALF_SPACE_TREES_KIND}' snapshot state: a split dimension ≥ shingle`,
      );
    }
    this.dims.set(state.dims);
    this.splits.set(state.splits);
    this.reference.set(state.reference);
    this.latest.set(state.latest);
    this.shingleBuf.set(state.shingle);
    this.expected = state.expected;
    this.hasReference = state.hasReference;
    this.windowCount = state.windowCount;
    this.baseline = state.baseline;
    this.values = state.values;
    this.residuals = state.residuals;
    this.residualMean = state.residualMean;
    this.residualVar = state.residualVar;
  }
}

export const halfSpaceTreesFactory: DetectorFactory<HalfSpaceTreesParams> = {
  kind: HALF_SPACE_TREES_KIND,
  description: 'Streaming half-space trees over a shingle of standardised residuals (mass-based)',
  paramsSchema: halfSpaceTreesParamsSchema,
  create: (params, seed) => HalfSpaceTrees.create(params, seed),
  restore: (snapshot) => HalfSpaceTrees.restore(snapshot),
};
