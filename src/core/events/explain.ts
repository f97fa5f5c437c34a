import type { Detector } from '../detectors/detector.js';
import { canExplain } from '../detectors/explanation.js';
import type { ScorePart } from '../detectors/vector-detector.js';
import type { DetectorContribution, EventExplanation, MetricContribution } from './types.js';

/**
 * The explanation of one univariate point: the metric with its observed, expected value and
 * band, and the detector's evidence as `<kind>/<evidence>` (just `<kind>` with `score` for a
 * detector that cannot explain itself). Call it before the detector learns the point — the
 * `explain` contract — e.g. from the closure handed to `EventTracker.update`.
 */
export function explainPoint(
  detector: Detector,
  metric: string,
  timeMs: number,
  value: number,
  score: number,
): EventExplanation {
  const m: { -readonly [K in keyof MetricContribution]: MetricContribution[K] } = {
    name: metric,
    share: 1,
    observed: value,
  };
  let detectors: DetectorContribution[] = [];
  if (canExplain(detector)) {
    const e = detector.explain(timeMs, value);
    if (e.expected !== null) m.expected = e.expected;
    if (e.band !== null) m.band = e.band;
    detectors = e.evidence.map((item) => ({
      name: `${detector.kind}/${item.name}`,
      score: item.score,
    }));
  }
  if (detectors.length === 0) detectors = [{ name: detector.kind, score }];
  return { metrics: [m], detectors };
}

/**
 * The explanation of one multivariate point: each metric's share of the anomaly (from
 * `VectorDetector.contributions`, read right after scoring the vector), strongest first.
 */
export function explainVector(
  detectorKind: string,
  metrics: readonly string[],
  values: ArrayLike<number>,
  shares: ArrayLike<number>,
  score: number,
  parts: readonly ScorePart[] = [],
): EventExplanation {
  if (values.length !== metrics.length || shares.length !== metrics.length) {
    throw new Error('explainVector: metrics, values and shares must have the same length');
  }
  const out = metrics.map((name, i): MetricContribution => ({
    name,
    share: shares[i] as number,
    observed: values[i] as number,
  }));
  // Stable sort: equal shares keep the metric order, so the output is deterministic.
  out.sort((a, b) => b.share - a.share);
  // A composite's parts follow its own score: `<kind>/<part>`, `@<metric>` for a metric's own.
  const detectors: DetectorContribution[] = [{ name: detectorKind, score }];
  for (const part of parts) {
    const metric = part.metric === undefined ? undefined : metrics[part.metric];
    const name = `${detectorKind}/${part.name}${metric === undefined ? '' : `@${metric}`}`;
    detectors.push({ name, score: part.score });
  }
  return { metrics: out, detectors };
}
