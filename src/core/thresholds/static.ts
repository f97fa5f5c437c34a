import { z } from 'zod';
import type { Level, Threshold, ThresholdSnapshot } from './threshold.js';

/**
 * Fixed boundaries: a score at or above `alert` is an alert, at or above `severe` severe. The
 * defaults keep each detector's own decision boundary (score 0.5) and call four times that
 * evidence (0.8 under the shared score mapping) severe. Stateless.
 */
export const STATIC_KIND = 'static';

export const staticParamsSchema = z
  .strictObject({
    alert: z.number().min(0).max(1).default(0.5),
    severe: z.number().min(0).max(1).default(0.8),
  })
  .refine((p) => p.severe >= p.alert, {
    message: 'severe must be at least alert',
    path: ['severe'],
  });

export type StaticParams = z.infer<typeof staticParamsSchema>;

/** `score >= severe` → severe, `score >= alert` → alert; NaN is ok. */
export function levelOf(score: number, alert: number, severe: number): Level {
  if (score >= severe) return 'severe';
  return score >= alert ? 'alert' : 'ok';
}

export class StaticThreshold implements Threshold {
  readonly kind = STATIC_KIND;
  readonly params: Readonly<StaticParams>;

  constructor(params: StaticParams) {
    this.params = Object.freeze({ ...params });
  }

  classify(_timeMs: number, score: number): Level {
    return levelOf(score, this.params.alert, this.params.severe);
  }

  alertScore(): number {
    return this.params.alert;
  }

  snapshot(): ThresholdSnapshot {
    return { kind: this.kind, params: { ...this.params }, state: null };
  }
}
