/** Turns detector scores into levels. Separate from detectors so any detector can use any rule. */
export type Level = 'ok' | 'alert' | 'severe';

export interface Threshold {
  readonly kind: string;
  /**
   * Classify the score of the current point, then (for adaptive thresholds) learn from it.
   * Deterministic: the same score sequence gives the same levels.
   */
  classify(timeMs: number, score: number): Level;
  /**
   * Calibrate on the scores of a training period (normal by definition) instead of waiting for
   * live ones: an adaptive threshold is armed from the next point. Absent: nothing to calibrate.
   */
  calibrate?(scores: ArrayLike<number>): void;
  /** The score at or above which a point alerts now. Absent: the rule cannot say. */
  alertScore?(): number;
  snapshot(): ThresholdSnapshot;
}

export interface ThresholdSnapshot {
  readonly kind: string;
  readonly params: unknown;
  readonly state: unknown;
}
