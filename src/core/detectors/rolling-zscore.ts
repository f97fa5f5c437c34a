import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import { RollingMeanVar, type RollingMeanVarState } from '../stats/rolling-mean-var.js';
import { ratioScore } from './score-map.js';
import { parseSnapshot, rollingMeanVarStateSchema } from './snapshot-parts.js';

export const ROLLING_ZSCORE_KIND = 'rolling-zscore';

export const rollingZScoreParamsSchema = z.strictObject({
  /** Number of past points the mean and standard deviation are taken over. */
  window: z.number().int().min(3).max(1_000_000).default(30),
  /** |z| that counts as anomalous; it maps to score 0.5. */
  threshold: z.number().positive().default(3),
  /** Floor under the standard deviation so a flat window cannot divide by zero. */
  min_std: z.number().positive().default(1e-6),
});

export type RollingZScoreParams = z.infer<typeof rollingZScoreParamsSchema>;

/**
 * The seed's baseline: |x - mean| / std over the previous `window` points (sample standard
 * deviation), scored 0 until the window is full.
 */
export class RollingZScoreDetector implements Detector {
  readonly kind = ROLLING_ZSCORE_KIND;
  readonly params: Readonly<RollingZScoreParams>;
  private readonly stats: RollingMeanVar;

  constructor(params: RollingZScoreParams, state?: RollingMeanVarState) {
    this.params = Object.freeze({ ...params });
    if (state && state.capacity !== params.window) {
      throw new Error('rolling-zscore snapshot: state capacity does not match params.window');
    }
    this.stats = state ? RollingMeanVar.fromState(state) : new RollingMeanVar(params.window);
  }

  score(_timeMs: number, value: number): number {
    if (!Number.isFinite(value) || !this.stats.full) return 0;
    const std = Math.max(this.stats.sampleStd, this.params.min_std);
    return ratioScore(Math.abs(value - this.stats.mean) / std, this.params.threshold);
  }

  learn(_timeMs: number, value: number): void {
    if (Number.isFinite(value)) this.stats.update(value);
  }

  update(timeMs: number, value: number): number {
    const s = this.score(timeMs, value);
    this.learn(timeMs, value);
    return s;
  }

  snapshot(): DetectorSnapshot {
    return { kind: this.kind, params: { ...this.params }, state: this.stats.state() };
  }
}

export const rollingZScoreFactory: DetectorFactory<RollingZScoreParams> = {
  kind: ROLLING_ZSCORE_KIND,
  description: 'Rolling z-score over the last `window` points (the seed baseline, 3-sigma)',
  paramsSchema: rollingZScoreParamsSchema,
  create: (params) => new RollingZScoreDetector(params),
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(
      snapshot,
      ROLLING_ZSCORE_KIND,
      rollingZScoreParamsSchema,
      rollingMeanVarStateSchema,
    );
    return new RollingZScoreDetector(params, state);
  },
};
