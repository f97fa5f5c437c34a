import type { NabCorpus } from './corpus.js';
import { corpusLayout } from './layout.js';

/** How one labelled window fared at a threshold: where its first detection fell, if any. */
export interface WindowOutcome {
  readonly file: string;
  /** Index of the window within its file. */
  readonly window: number;
  /** Rows of the window that are scored (past the probationary period). */
  readonly rows: number;
  /** Row of the first detection, counted from the window's first scored row; null if missed. */
  readonly delay: number | null;
  /** `delay / rows`: 0 at the left edge, near 0.5 at a window's labelled centre. */
  readonly depth: number | null;
  /** NAB's unit reward of the first detection (1 at the left edge, 0 at the right), or 0. */
  readonly reward: number;
  /** The highest score inside the window (how far a missed window was from the threshold). */
  readonly peak: number;
  /** Detections between the end of the probationary period and the window's start. */
  readonly detectionsBefore: number;
}

/**
 * Per-window outcomes at `threshold`: which windows were missed and how deep into the window the
 * first detection came. NAB rewards only the first detection of a window, by its position, so
 * this says where the points of a standard score are lost (misses vs late hits).
 */
export function windowOutcomes(
  corpus: NabCorpus,
  scores: readonly Float64Array[],
  threshold: number,
): WindowOutcome[] {
  const layout = corpusLayout(corpus);
  const out: WindowOutcome[] = [];
  corpus.files.forEach((file, f) => {
    const fl = layout.files[f]!;
    const s = scores[f]!;
    const windows = file.windows.length;
    const first = new Array<number>(windows).fill(-1);
    const rows = new Array<number>(windows).fill(0);
    const hit = new Array<number>(windows).fill(-1);
    const peak = new Array<number>(windows).fill(0);
    const before = new Array<number>(windows).fill(0);
    let detections = 0;
    for (let i = fl.probation; i < fl.windowOf.length; i++) {
      const w = fl.windowOf[i]!;
      const detected = s[i]! >= threshold;
      if (w === -1) {
        if (detected) detections++;
        continue;
      }
      const local = w - fl.firstWindow;
      if (first[local] === -1) {
        first[local] = i;
        before[local] = detections;
      }
      rows[local]!++;
      if (s[i]! > peak[local]!) peak[local] = s[i]!;
      if (detected && hit[local] === -1) hit[local] = i;
    }
    for (let w = 0; w < windows; w++) {
      if (first[w] === -1) continue; // not scored by NAB
      const h = hit[w]!;
      const delay = h === -1 ? null : h - first[w]!;
      out.push({
        file: file.relPath,
        window: w,
        rows: rows[w]!,
        delay,
        depth: delay === null ? null : delay / rows[w]!,
        reward: h === -1 ? 0 : fl.unit[h]!,
        peak: peak[w]!,
        detectionsBefore: before[w]!,
      });
    }
  });
  return out;
}

/** Summary of outcomes: misses, and the reward lost to late hits (1 - reward per hit). */
export function summarizeOutcomes(outcomes: readonly WindowOutcome[]): {
  windows: number;
  missed: number;
  hits: number;
  meanReward: number;
  lostToLateness: number;
  medianDepth: number | null;
} {
  const hits = outcomes.filter((o) => o.delay !== null);
  const depths = hits.map((o) => o.depth!).sort((a, b) => a - b);
  const rewardSum = hits.reduce((a, o) => a + o.reward, 0);
  return {
    windows: outcomes.length,
    missed: outcomes.length - hits.length,
    hits: hits.length,
    meanReward: hits.length > 0 ? rewardSum / hits.length : 0,
    lostToLateness: hits.length - rewardSum,
    medianDepth: depths.length > 0 ? depths[Math.floor(depths.length / 2)]! : null,
  };
}
