import type { CostMatrix } from './corpus.js';
import type { CorpusLayout } from './layout.js';

/**
 * The corpus score as a function of the threshold, profile-free. Entry `k` describes detecting
 * every scored row whose anomaly score is `>= thresholds[k]`; entry 0 detects nothing. The NAB raw
 * score of entry `k` under a cost matrix is
 * `tpWeight * tpSum[k] - fnWeight * (scoredWindows - detected[k]) + fpWeight * fpSum[k]`,
 * which lets one sweep serve every profile.
 */
export interface SweepCurve {
  /** Descending. Entry 0 is a sentinel above every score (1.1, NAB's start value, when it can). */
  readonly thresholds: Float64Array;
  /** Sum over detected windows of the unit value of their earliest detection. */
  readonly tpSum: Float64Array;
  /** Sum of the (negative) unit values of the detected rows outside windows. */
  readonly fpSum: Float64Array;
  /** Windows with at least one detection. */
  readonly detected: Int32Array;
  /** Detected rows inside windows (NAB's row-level tp count). */
  readonly tpRows: Int32Array;
  /** Detected rows outside windows (NAB's row-level fp count). */
  readonly fpRows: Int32Array;
  readonly scoredWindows: number;
  /** Scored rows inside windows and outside them, to derive fn and tn counts. */
  readonly windowRows: number;
  readonly otherRows: number;
}

/**
 * Sweep every distinct anomaly score of the corpus as a threshold, highest first, as NAB's sweeper
 * does: sort the scored rows once, then add each group of equal scores in turn. A window's value
 * is the best (earliest) of its detections so far, so later, lower-scored detections that come
 * earlier in time still raise it, and later-in-time ones change nothing.
 * `scores[f]` must hold one finite number per row of file `f`.
 */
export function sweepCorpus(layout: CorpusLayout, scores: readonly Float64Array[]): SweepCurve {
  let rows = 0;
  for (const fl of layout.files) rows += Math.max(fl.windowOf.length - fl.probation, 0);
  const score = new Float64Array(rows);
  const win = new Int32Array(rows);
  const unit = new Float64Array(rows);
  let windowRows = 0;
  let top = Number.NEGATIVE_INFINITY;
  let r = 0;
  layout.files.forEach((fl, f) => {
    const s = scores[f] as Float64Array;
    for (let i = fl.probation; i < fl.windowOf.length; i++, r++) {
      const v = s[i] as number;
      score[r] = v;
      win[r] = fl.windowOf[i] as number;
      unit[r] = fl.unit[i] as number;
      if (win[r] !== -1) windowRows++;
      if (v > top) top = v;
    }
  });

  const order = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  order.sort((a, b) => (score[b] as number) - (score[a] as number));

  // At most one entry per distinct score, plus the sentinel.
  const cap = rows + 1;
  const thresholds = new Float64Array(cap);
  const tpSum = new Float64Array(cap);
  const fpSum = new Float64Array(cap);
  const detected = new Int32Array(cap);
  const tpRows = new Int32Array(cap);
  const fpRows = new Int32Array(cap);
  thresholds[0] = top < 1.1 ? 1.1 : top + 1;

  const best = new Float64Array(layout.windowCount).fill(Number.NaN);
  let tp = 0;
  let fp = 0;
  let nDetected = 0;
  let nTp = 0;
  let nFp = 0;
  let k = 0;
  for (let j = 0; j < rows;) {
    const t = score[order[j] as number] as number;
    for (; j < rows && score[order[j] as number] === t; j++) {
      const row = order[j] as number;
      const w = win[row] as number;
      const u = unit[row] as number;
      if (w === -1) {
        fp += u;
        nFp++;
        continue;
      }
      nTp++;
      const prev = best[w] as number;
      if (Number.isNaN(prev)) {
        best[w] = u;
        tp += u;
        nDetected++;
      } else if (u > prev) {
        best[w] = u;
        tp += u - prev;
      }
    }
    k++;
    thresholds[k] = t;
    tpSum[k] = tp;
    fpSum[k] = fp;
    detected[k] = nDetected;
    tpRows[k] = nTp;
    fpRows[k] = nFp;
  }

  const len = k + 1;
  return {
    thresholds: thresholds.slice(0, len),
    tpSum: tpSum.slice(0, len),
    fpSum: fpSum.slice(0, len),
    detected: detected.slice(0, len),
    tpRows: tpRows.slice(0, len),
    fpRows: fpRows.slice(0, len),
    scoredWindows: layout.scoredWindows,
    windowRows,
    otherRows: rows - windowRows,
  };
}

/** Raw NAB score of curve entry `k` under `cost`. */
export function curveScore(curve: SweepCurve, k: number, cost: CostMatrix): number {
  return (
    cost.tpWeight * (curve.tpSum[k] as number) -
    cost.fnWeight * (curve.scoredWindows - (curve.detected[k] as number)) +
    cost.fpWeight * (curve.fpSum[k] as number)
  );
}

/**
 * The entry with the highest raw score. Ties go to the highest threshold, as NAB's stable sort of
 * the descending-threshold list keeps the first of equal scores.
 */
export function bestEntry(curve: SweepCurve, cost: CostMatrix): number {
  let bestK = 0;
  let bestScore = curveScore(curve, 0, cost);
  for (let k = 1; k < curve.thresholds.length; k++) {
    const s = curveScore(curve, k, cost);
    if (s > bestScore) {
      bestScore = s;
      bestK = k;
    }
  }
  return bestK;
}
