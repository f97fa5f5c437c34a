import type { z } from 'zod';

/**
 * The one contract every streaming detector keeps. Scores follow one convention: the detector's
 * native decision boundary (e.g. 3σ for a z-score) lands at 0.5 (docs/detectors.md, "What all
 * detectors share").
 *
 * A detector sees one series point by point, in event-time order. For each point it returns a
 * score in [0, 1] (higher = more anomalous) computed from the points *before* it only, then
 * learns the point. Detectors are pure: no I/O, no wall clock, no Math.random — randomness comes
 * from a seeded generator whose state is part of the snapshot.
 *
 * Input rules, the same for every detector:
 * - a non-finite value (NaN, ±Infinity) is a missing reading: the score is 0 and the state is
 *   left untouched (ingest rejects such values before they get here; this is the safety net);
 * - time is event time in ms; gaps are allowed; a repeated timestamp is a separate point;
 *   detectors that use time (the adaptive window) treat a time going backwards as zero elapsed.
 * - during warm-up (too little history to judge) the score is 0, never an exception.
 */
export interface Detector {
  /** Registry name of the algorithm, e.g. `ewzscore`. */
  readonly kind: string;
  /** Score the point against the past without learning it. */
  score(timeMs: number, value: number): number;
  /** Fold the point into the state (call after `score` for the same point). */
  learn(timeMs: number, value: number): void;
  /** `score` then `learn`: the hot path. */
  update(timeMs: number, value: number): number;
  /**
   * Optional, for a detector that gates its own alerts (one per incident): the last scored
   * point's evidence before that gate, on the score's scale. Events use it to tell when the data
   * are back to normal; without it they use the score.
   */
  lastEvidence?(): number;
  /** Plain JSON data from which `restore` rebuilds an identical detector. */
  snapshot(): DetectorSnapshot;
}

/** Serialisable detector state: `kind` picks the factory, `params` and `state` are plain data. */
export interface DetectorSnapshot {
  readonly kind: string;
  readonly params: unknown;
  readonly state: unknown;
}

/**
 * How the registry builds a detector: from validated params, or back from a snapshot.
 * `paramsSchema` is a zod schema with every default filled in (`parse({})` gives the seed's
 * defaults); the strategy schema embeds it so a bad parameter is reported with its full path.
 */
export interface DetectorFactory<P = unknown> {
  readonly kind: string;
  /** One line for `vigil detectors` and the docs. */
  readonly description: string;
  readonly paramsSchema: z.ZodType<P>;
  create(params: P, seed: number): Detector;
  restore(snapshot: DetectorSnapshot): Detector;
}
