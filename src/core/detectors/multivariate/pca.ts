import { z } from 'zod';
import type { VectorDetectorFactory } from '../vector-detector.js';
import {
  baselineParamsShape,
  shrunkEigenvalue,
  standardise,
  type BaselineFit,
} from './baseline.js';
import {
  BaselineDetector,
  baselineDetectorFactory,
  type BaselineDetectorState,
} from './baseline-detector.js';
import { ChiSquareTail, FTail } from './log-tails.js';

/**
 * PCA monitoring: T² on the k leading components of the baseline correlation (unusual operation
 * within the normal relations) and Q, the squared residual off them (a broken relation, a stuck
 * or drifting sensor), Bonferroni-combined into one p-value scored as in `hotelling`. k is chosen
 * afresh at every refit from `explained_variance`, so it is a pure function of the baseline. The
 * statistics, limits and explanations: docs/multivariate.md, "pca".
 */
export const PCA_KIND = 'pca';

export const pcaParamsSchema = z.strictObject({
  ...baselineParamsShape,
  /** Fraction of the total variance the retained components must explain. */
  explained_variance: z.number().gt(0).max(1).default(0.9),
  /** Most components kept; 0 = no cap other than d − 1. */
  max_components: z.number().int().min(0).default(0),
});
export type PcaParams = z.infer<typeof pcaParamsSchema>;

interface Model {
  readonly fit: BaselineFit;
  /** Components kept. */
  readonly k: number;
  /** 1 / shrunk eigenvalue of each kept component. */
  readonly inverse: Float64Array;
  readonly toF: number;
  readonly t2Tail: FTail;
  /** Q → chi-square statistic (1/g), and its tail; null when no residual space (d = 1). */
  readonly qScale: number;
  readonly qTail: ChiSquareTail | null;
}

/** Components needed to explain `fraction` of the variance, within [1, cap]. */
export function componentCount(values: Float64Array, fraction: number, cap: number): number {
  let total = 0;
  for (const v of values) total += Math.max(v, 0);
  let explained = 0;
  let k = 0;
  while (k < cap) {
    explained += Math.max(values[k] as number, 0);
    k++;
    if (explained >= fraction * total) break;
  }
  return Math.max(k, 1);
}

function buildModel(fit: BaselineFit, params: PcaParams): Model {
  const d = fit.values.length;
  const limit = d > 1 ? d - 1 : 1;
  const cap = params.max_components > 0 ? Math.min(params.max_components, limit) : limit;
  const k = componentCount(fit.values, params.explained_variance, cap);
  const inverse = new Float64Array(k);
  for (let i = 0; i < k; i++)
    inverse[i] = 1 / shrunkEigenvalue(fit.values[i] as number, params.shrinkage);
  let theta1 = 0;
  let theta2 = 0;
  for (let i = k; i < d; i++) {
    const lambda = shrunkEigenvalue(fit.values[i] as number, params.shrinkage);
    theta1 += lambda;
    theta2 += lambda * lambda;
  }
  const n = Math.max(fit.count, k + 2);
  const residual = theta1 > 0;
  return {
    fit,
    k,
    inverse,
    toF: (n * (n - k)) / (k * (n + 1) * (n - 1)),
    t2Tail: new FTail(k, n - k),
    qScale: residual ? theta1 / theta2 : 0,
    qTail: residual ? new ChiSquareTail((theta1 * theta1) / theta2) : null,
  };
}

export class PcaDetector extends BaselineDetector<PcaParams, Model> {
  readonly kind = PCA_KIND;
  private readonly z: Float64Array;
  private readonly t: Float64Array;
  /** Residual of the last scored vector. */
  private readonly e: Float64Array;

  constructor(params: PcaParams, dimensions: number, state?: BaselineDetectorState) {
    super(params, dimensions, state, buildModel, 2);
    this.z = new Float64Array(dimensions);
    this.t = new Float64Array(dimensions);
    this.e = new Float64Array(dimensions);
  }

  /** Components the current fit keeps (0 before the first fit). */
  get components(): number {
    return this.model?.k ?? 0;
  }

  protected statisticDecades(model: Model, values: Float64Array, out: Float64Array): void {
    const d = this.dimensions;
    const { k } = model;
    const { vectors } = model.fit;
    const { z, t, e } = this;
    standardise(model.fit, values, z);
    e.set(z);
    let t2 = 0;
    for (let i = 0; i < k; i++) {
      let ti = 0;
      for (let j = 0; j < d; j++) ti += (vectors[j * d + i] as number) * (z[j] as number);
      t[i] = ti;
      t2 += ti * ti * (model.inverse[i] as number);
      for (let j = 0; j < d; j++) e[j] = (e[j] as number) - (vectors[j * d + i] as number) * ti;
    }
    let q = 0;
    for (let j = 0; j < d; j++) q += (e[j] as number) ** 2;
    const logT2 = model.t2Tail.logTail(t2 * model.toF);
    const logQ = model.qTail ? model.qTail.logTail(q * model.qScale) : 0;
    // Two tests: Bonferroni doubles each p-value (when there are two). Q first, so it is the
    // one explained on a tie.
    const bonferroni = model.qTail ? Math.LN2 : 0;
    out[0] = -Math.min(0, logQ + bonferroni) / Math.LN10;
    out[1] = -Math.min(0, logT2 + bonferroni) / Math.LN10;
  }

  protected explain(model: Model, out: Float64Array): void {
    const d = this.dimensions;
    if (this.lastStatistic === 0) {
      scaledSquares(this.e, out);
    } else {
      const { vectors } = model.fit;
      // ẑ_j · (Mz)_j, both from the kept components' scores t.
      let big = 0;
      for (let i = 0; i < model.k; i++) big = Math.max(big, Math.abs(this.t[i] as number));
      for (let j = 0; j < d; j++) {
        let projected = 0;
        let weighted = 0;
        for (let i = 0; i < model.k; i++) {
          const vt = ((vectors[j * d + i] as number) * (this.t[i] as number)) / big;
          projected += vt;
          weighted += vt * (model.inverse[i] as number);
        }
        out[j] = Math.max(projected * weighted, 0);
      }
    }
  }
}

/** out_j = e_j² after scaling e by its largest magnitude (no overflow for huge residuals). */
function scaledSquares(e: Float64Array, out: Float64Array): void {
  let big = 0;
  for (const v of e) big = Math.max(big, Math.abs(v));
  for (let j = 0; j < e.length; j++) out[j] = big > 0 ? ((e[j] as number) / big) ** 2 : 0;
}

export const pcaFactory: VectorDetectorFactory<PcaParams> = baselineDetectorFactory(
  PCA_KIND,
  'PCA T² on the leading components + Q (squared prediction error); combined p-value (1e-4 → 0.5)',
  pcaParamsSchema,
  (params, dimensions, state) => new PcaDetector(params, dimensions, state),
);
