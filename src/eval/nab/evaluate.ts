import type { CostMatrix } from './corpus.js';
import type { FileLayout } from './layout.js';

/**
 * The profile-free parts of one file's NAB score at one threshold (see `rawScore`). Parts of
 * several files add up field by field.
 */
export interface ScoreParts {
  /** Sum over detected windows of the unit value of their earliest detection. */
  tpSum: number;
  /** Sum of the (negative) unit values of detected rows outside windows. */
  fpSum: number;
  /** Windows with a detection, and windows that count at all (have a scored row). */
  detected: number;
  scoredWindows: number;
  /** NAB's row-level counts over scored rows. */
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function emptyParts(): ScoreParts {
  return { tpSum: 0, fpSum: 0, detected: 0, scoredWindows: 0, tp: 0, fp: 0, fn: 0, tn: 0 };
}

export function addParts(into: ScoreParts, p: ScoreParts): ScoreParts {
  into.tpSum += p.tpSum;
  into.fpSum += p.fpSum;
  into.detected += p.detected;
  into.scoredWindows += p.scoredWindows;
  into.tp += p.tp;
  into.fp += p.fp;
  into.fn += p.fn;
  into.tn += p.tn;
  return into;
}

/** NAB raw score: detected windows earn, missed windows cost fnWeight, false positives cost. */
export function rawScore(p: ScoreParts, cost: CostMatrix): number {
  return (
    cost.tpWeight * p.tpSum -
    cost.fnWeight * (p.scoredWindows - p.detected) +
    cost.fpWeight * p.fpSum
  );
}

/**
 * Score one file with detections at `scores[i] >= threshold`, as NAB's scoring step does per
 * file. Probationary rows are skipped; in a window only the earliest detection counts.
 */
export function evaluateFile(
  layout: FileLayout,
  scores: Float64Array,
  threshold: number,
): ScoreParts {
  const p = emptyParts();
  p.scoredWindows = layout.scoredWindows;
  let lastWindow = -1;
  for (let i = layout.probation; i < layout.windowOf.length; i++) {
    const w = layout.windowOf[i] as number;
    const hit = (scores[i] as number) >= threshold;
    if (w === -1) {
      if (hit) {
        p.fp++;
        p.fpSum += layout.unit[i] as number;
      } else {
        p.tn++;
      }
      continue;
    }
    if (!hit) {
      p.fn++;
      continue;
    }
    p.tp++;
    // Rows run in time order, so the first hit of a window is its earliest, best-valued one.
    if (w !== lastWindow) {
      lastWindow = w;
      p.detected++;
      p.tpSum += layout.unit[i] as number;
    }
  }
  return p;
}
