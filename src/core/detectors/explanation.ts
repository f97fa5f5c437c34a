/**
 * Why a univariate detector scored a point as it did: the expected value or band the point was
 * compared with, and which part of the detector's evidence weighed most. Detectors that can say
 * implement `ExplainingDetector`; events carry the explanation of their peak point.
 */
export interface Explanation {
  /** What the detector expected at this point (e.g. the usual value at this time of day). */
  readonly expected: number | null;
  /** A band of normal values, when the detector has one: [lower, upper]. */
  readonly band: readonly [number, number] | null;
  /** The pieces of evidence and their scores in [0, 1], strongest first. */
  readonly evidence: readonly EvidenceItem[];
}

export interface EvidenceItem {
  /** Short stable name, e.g. `seasonal-residual`, `upper-tail`, `record`, `stuck`, or a member kind. */
  readonly name: string;
  readonly score: number;
}

/** A detector that can explain its score for a point (call before `learn` for that point). */
export interface ExplainingDetector {
  explain(timeMs: number, value: number): Explanation;
  /**
   * `explain(timeMs, value).band` without the evidence, where that is cheaper (the alert
   * threshold is read once per series and minute, so it must cost far less than a point).
   */
  band?(timeMs: number, value: number): readonly [number, number] | null;
}

/** The detector's band for a point, by its band-only path when it has one. */
export function bandOf(
  detector: ExplainingDetector,
  timeMs: number,
  value: number,
): readonly [number, number] | null {
  return detector.band ? detector.band(timeMs, value) : detector.explain(timeMs, value).band;
}

export function canExplain(detector: object): detector is ExplainingDetector {
  return typeof (detector as Partial<ExplainingDetector>).explain === 'function';
}
