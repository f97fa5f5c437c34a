import { z } from 'zod';
import type { DetectorFactory, Detector, DetectorSnapshot } from '../detector.js';
import { memberSeed } from '../ensemble.js';
import { parseSnapshot } from '../snapshot-parts.js';
import type { ScorePart, VectorDetector, VectorDetectorFactory } from '../vector-detector.js';
import {
  ThinnedSample,
  thinnedSampleStateSchema,
  type ThinnedSampleState,
} from './thinned-sample.js';
import { isTrainable, type TrainableVectorDetector } from './trainable.js';
import { VigilError } from '../../../errors.js';

export const VECTOR_ENSEMBLE_KIND = 'vector-ensemble';

/** Univariate training scores kept for `closeTraining` (evenly thinned beyond). */
const TRAINING_SCORES = 4096;

/** How the registries are reached from here without importing them (they import us). */
export interface EnsembleLookups {
  readonly univariate: (kind: string) => DetectorFactory;
  readonly vector: (kind: string) => VectorDetectorFactory;
}

export type VectorCombineRule = 'max' | 'noisy-or';

export interface VectorEnsembleParams {
  readonly univariate: { readonly kind: string; readonly params: unknown };
  readonly vector: { readonly kind: string; readonly params: unknown };
  readonly combine: VectorCombineRule;
}

const part = z.strictObject({ kind: z.string().min(1), params: z.unknown().optional() });

/**
 * Params: `univariate` (a univariate kind, run on every metric of the device), `vector` (a
 * vector kind), `combine`. Each part's params are validated by its own kind's schema, errors at
 * `univariate.params.<field>` / `vector.params.<field>`.
 */
export function vectorEnsembleParamsSchema(
  lookups: EnsembleLookups,
): z.ZodType<VectorEnsembleParams> {
  return z
    .strictObject({
      // At 4σ rather than ewzscore's own 3σ: beside a vector detector, the univariate part is
      // there for a metric far outside its own range (3σ: 5.1 % false alarms on the short runs
      // of eval:multivariate, 4σ: 2.0 %, same faults caught).
      univariate: part.prefault({ kind: 'ewzscore', params: { threshold: 4 } }),
      vector: part.prefault({ kind: 'hotelling' }),
      combine: z.enum(['max', 'noisy-or']).default('max'),
    })
    .transform((value, ctx): VectorEnsembleParams => {
      const check = <F extends { paramsSchema: z.ZodType }>(
        which: 'univariate' | 'vector',
        find: (kind: string) => F,
      ): { kind: string; params: unknown } => {
        const { kind, params } = value[which];
        let factory: F;
        try {
          if (which === 'vector' && kind === VECTOR_ENSEMBLE_KIND) {
            throw new Error(`a ${VECTOR_ENSEMBLE_KIND} cannot hold another one`);
          }
          factory = find(kind);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          ctx.issues.push({ code: 'custom', message, path: [which, 'kind'], input: kind });
          return { kind, params: {} };
        }
        const parsed = factory.paramsSchema.safeParse(params ?? {});
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            ctx.issues.push({
              code: 'custom',
              message: issue.message,
              path: [which, 'params', ...issue.path],
              input: params,
            });
          }
          return { kind, params: {} };
        }
        return { kind, params: parsed.data };
      };
      return {
        univariate: check('univariate', lookups.univariate),
        vector: check('vector', lookups.vector),
        combine: value.combine,
      };
    });
}

/**
 * `vector-ensemble`: a univariate detector on each metric of the device and a vector detector
 * on the whole vector, their scores combined — `max` (either part can raise an alarm; 0.5 stays
 * each part's own boundary) or `noisy-or` (1 − (1 − u)(1 − v): two half-sure parts make a surer
 * whole). u is the highest of the metrics' univariate scores, v the vector detector's.
 *
 * The explanation keeps both parts: each metric's share mixes its univariate evidence (its score
 * squared, normalised over the metrics) and the vector detector's share, weighted by the two
 * parts' scores; `scoreParts` names the strongest metric's univariate score and the vector score.
 *
 * Training follows the vector part: its training period (the pipeline's, or the vector kind's
 * own `training_points`) scores 0 while the univariate detectors learn the same vectors. The
 * scores returned by `closeTraining` (for a threshold's quantiles) are the vector part's held-out
 * scores, sorted, each combined with the univariate training score at the same quantile: the two
 * parts' samples are not of the same vectors (the vector part thins its own), so they are paired
 * by rank, an estimate of the combined scores' distribution.
 */
class VectorEnsembleDetector implements TrainableVectorDetector {
  readonly kind = VECTOR_ENSEMBLE_KIND;
  readonly dimensions: number;
  private readonly uniScores: Float64Array;
  private readonly vectorShares: Float64Array;
  private lastUni = 0;
  private lastUniMetric = -1;
  private lastVector = 0;
  private lastScore = 0;
  /** Vectors learned while the vector part trains (its own `training_points`). */
  private learned: number;
  /** Highest univariate score of the vectors of a pipeline training period (a thinned sample). */
  private readonly trainingUni: ThinnedSample;
  private closed: boolean;
  private readonly warmup: number;

  constructor(
    readonly params: Readonly<VectorEnsembleParams>,
    private readonly univariate: readonly Detector[],
    private readonly vector: VectorDetector,
    state?: { learned: number; trainingUni: ThinnedSampleState; closed: boolean },
  ) {
    this.dimensions = vector.dimensions;
    if (univariate.length !== this.dimensions) {
      throw new Error('vector-ensemble: one univariate detector per metric');
    }
    this.uniScores = new Float64Array(this.dimensions);
    this.vectorShares = new Float64Array(this.dimensions);
    this.learned = state?.learned ?? 0;
    this.trainingUni = new ThinnedSample(1, TRAINING_SCORES, state?.trainingUni);
    this.closed = state?.closed ?? false;
    const own = (params.vector.params as { training_points?: unknown }).training_points;
    this.warmup = typeof own === 'number' ? own : 0;
  }

  private get armed(): boolean {
    return this.closed || this.learned >= this.warmup;
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

  score(timeMs: number, values: Float64Array): number {
    this.lastScore = 0;
    if (!this.usable(values)) return 0;
    // Both parts always score (each keeps its own per-point contract), the gate comes after.
    const v = this.vector.score(timeMs, values);
    let u = 0;
    let best = -1;
    for (let m = 0; m < this.dimensions; m++) {
      const s = (this.univariate[m] as Detector).score(timeMs, values[m] as number);
      this.uniScores[m] = s;
      if (s > u) {
        u = s;
        best = m;
      }
    }
    if (!this.armed) return 0;
    this.vector.contributions(this.vectorShares);
    this.lastUni = u;
    this.lastUniMetric = best;
    this.lastVector = v;
    this.lastScore = this.params.combine === 'max' ? Math.max(u, v) : 1 - (1 - u) * (1 - v);
    return this.lastScore;
  }

  contributions(out: Float64Array): void {
    if (this.lastScore === 0) {
      out.fill(0);
      return;
    }
    let squares = 0;
    for (let m = 0; m < this.dimensions; m++) squares += (this.uniScores[m] as number) ** 2;
    const wu = squares > 0 ? this.lastUni : 0;
    const wv = this.lastVector;
    let sum = 0;
    for (let m = 0; m < this.dimensions; m++) {
      const u = squares > 0 ? (this.uniScores[m] as number) ** 2 / squares : 0;
      const share = wu * u + wv * (this.vectorShares[m] as number);
      out[m] = share;
      sum += share;
    }
    if (!(sum > 0)) {
      out.fill(0);
      return;
    }
    for (let m = 0; m < this.dimensions; m++) out[m] = (out[m] as number) / sum;
  }

  /** Both parts of the last score: the strongest metric's univariate score and the vector's. */
  scoreParts(): ScorePart[] {
    if (this.lastScore === 0) return [];
    const parts: ScorePart[] = [{ name: this.params.vector.kind, score: this.lastVector }];
    if (this.lastUniMetric >= 0) {
      parts.push({
        name: this.params.univariate.kind,
        score: this.lastUni,
        metric: this.lastUniMetric,
      });
    }
    return parts.sort((a, b) => b.score - a.score);
  }

  learn(timeMs: number, values: Float64Array): void {
    if (!this.usable(values)) return;
    this.learnUnivariate(timeMs, values);
    this.vector.learn(timeMs, values);
    if (this.learned < this.warmup) this.learned++;
  }

  train(timeMs: number, values: Float64Array): void {
    if (!this.usable(values)) return;
    // The univariate parts' scores of the training vectors, for `closeTraining`.
    let u = 0;
    for (let m = 0; m < this.dimensions; m++) {
      u = Math.max(u, (this.univariate[m] as Detector).update(timeMs, values[m] as number));
    }
    if (!this.closed) this.trainingUni.offer([u]);
    if (isTrainable(this.vector)) this.vector.train(timeMs, values);
    else this.vector.learn(timeMs, values);
    if (this.learned < this.warmup) this.learned++;
  }

  private learnUnivariate(timeMs: number, values: Float64Array): void {
    for (let m = 0; m < this.dimensions; m++) {
      (this.univariate[m] as Detector).learn(timeMs, values[m] as number);
    }
  }

  update(timeMs: number, values: Float64Array): number {
    const score = this.score(timeMs, values);
    this.learn(timeMs, values);
    return score;
  }

  get trainingClosed(): boolean {
    return this.closed;
  }

  get trainedVectors(): number {
    return isTrainable(this.vector) ? this.vector.trainedVectors : this.learned;
  }

  get minimumTraining(): number {
    return isTrainable(this.vector) ? this.vector.minimumTraining : 0;
  }

  closeTraining(): Float64Array {
    const v = isTrainable(this.vector) ? this.vector.closeTraining() : new Float64Array(0);
    const n = this.trainingUni.size;
    const u = Float64Array.from({ length: n }, (_, i) => this.trainingUni.at(i)).sort();
    const sorted = Float64Array.from(v).sort();
    const out = Float64Array.from(sorted, (score, i) => {
      // Rank by rank: the univariate score at the same quantile of its own training scores.
      const at = sorted.length > 1 ? Math.round((i * (n - 1)) / (sorted.length - 1)) : n - 1;
      const uni = n > 0 ? (u[at] as number) : 0;
      return this.params.combine === 'max' ? Math.max(uni, score) : 1 - (1 - uni) * (1 - score);
    });
    this.closed = true;
    this.trainingUni.clear();
    this.lastScore = 0;
    return out;
  }

  snapshot(): DetectorSnapshot {
    return {
      kind: this.kind,
      params: structuredClone(this.params),
      state: {
        dimensions: this.dimensions,
        univariate: this.univariate.map((d) => d.snapshot()),
        vector: this.vector.snapshot(),
        learned: this.learned,
        trainingUni: this.trainingUni.state(),
        closed: this.closed,
      },
    };
  }
}

const snapshotSchema = z.object({ kind: z.string(), params: z.unknown(), state: z.unknown() });
const stateSchema = z.object({
  dimensions: z.number().int().positive(),
  univariate: z.array(snapshotSchema),
  vector: snapshotSchema,
  learned: z.number().int().min(0),
  trainingUni: thinnedSampleStateSchema,
  closed: z.boolean(),
});

export function makeVectorEnsembleFactory(
  lookups: EnsembleLookups,
): VectorDetectorFactory<VectorEnsembleParams> {
  const paramsSchema = vectorEnsembleParamsSchema(lookups);
  return {
    kind: VECTOR_ENSEMBLE_KIND,
    description:
      'a univariate detector on every metric and a vector detector on the device, combined by max or noisy-or',
    paramsSchema,
    create: (params, dimensions, seed) => {
      const uni = lookups.univariate(params.univariate.kind);
      const uniParams = uni.paramsSchema.parse(params.univariate.params ?? {});
      const vec = lookups.vector(params.vector.kind);
      const vecParams = vec.paramsSchema.parse(params.vector.params ?? {});
      return new VectorEnsembleDetector(
        params,
        Array.from({ length: dimensions }, (_, m) => uni.create(uniParams, memberSeed(seed, m))),
        vec.create(vecParams, dimensions, memberSeed(seed, dimensions)),
      );
    },
    restore: (snapshot) => {
      const { params, state } = parseSnapshot(
        snapshot,
        VECTOR_ENSEMBLE_KIND,
        paramsSchema,
        stateSchema,
      );
      if (
        state.univariate.length !== state.dimensions ||
        state.univariate.some((s) => s.kind !== params.univariate.kind) ||
        state.vector.kind !== params.vector.kind
      ) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          `${VECTOR_ENSEMBLE_KIND} snapshot: its parts do not match its params`,
        );
      }
      const uni = lookups.univariate(params.univariate.kind);
      return new VectorEnsembleDetector(
        params,
        state.univariate.map((s) => uni.restore(s)),
        lookups.vector(params.vector.kind).restore(state.vector),
        state,
      );
    },
  };
}
