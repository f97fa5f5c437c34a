import type { NabCorpus, NabFile } from './corpus.js';

/**
 * What NAB's scoring needs to know about each row, independent of any detector: whether it is
 * probationary, which window it falls in, and its unweighted sweep score. Computed once per
 * corpus (cached) so scoring many detectors only pays for the threshold sweep.
 */
export interface FileLayout {
  /** Rows `[0, probation)` are never scored. */
  readonly probation: number;
  /** Corpus-wide window index of each row, or -1 outside every window. */
  readonly windowOf: Int32Array;
  /**
   * Unweighted NAB value of a detection at each row. Inside a window: the scaled sigmoid of the
   * position, normalised so the window's first row is exactly 1 (multiply by tpWeight). Outside:
   * a value in [-1, 0) (multiply by fpWeight), -1 when no window precedes the row.
   */
  readonly unit: Float64Array;
  /** Corpus-wide index of this file's first window (its windows are consecutive). */
  readonly firstWindow: number;
  /** Windows of this file that have at least one scored row (the only ones NAB counts). */
  readonly scoredWindows: number;
}

export interface CorpusLayout {
  readonly files: readonly FileLayout[];
  /** Total windows in the corpus (scored or not), i.e. the size of the window index space. */
  readonly windowCount: number;
  /** Windows with at least one scored row: the null detector misses each, a perfect one hits each. */
  readonly scoredWindows: number;
}

/** NAB's probationary period: min(floor(0.15 n), 0.15 * 5000) rows. */
export function probationLength(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 0.15 * 5000);
}

/**
 * NAB's scaled sigmoid of a relative position: -1 is a window's left edge (~0.987), 0 its right
 * edge (0), positive values lie past the window; from 3 on it is flat at -1.
 */
export function scaledSigmoid(x: number): number {
  if (x >= 3) return -1;
  return 2 * (1 / (1 + Math.exp(5 * x))) - 1;
}

const MAX_TP = scaledSigmoid(-1);

const cache = new WeakMap<NabCorpus, CorpusLayout>();

/** The layout of a corpus, computed on first use. */
export function corpusLayout(corpus: NabCorpus): CorpusLayout {
  let layout = cache.get(corpus);
  if (layout === undefined) {
    const files: FileLayout[] = [];
    let windowCount = 0;
    let scoredWindows = 0;
    for (const file of corpus.files) {
      const fl = fileLayout(file, windowCount);
      files.push(fl);
      windowCount += file.windows.length;
      scoredWindows += fl.scoredWindows;
    }
    layout = { files, windowCount, scoredWindows };
    cache.set(corpus, layout);
  }
  return layout;
}

/**
 * Window membership follows NAB's sweeper, which walks the rows in file order: a window opens at
 * the first row whose timestamp equals its start and closes after the row equal to its end; its
 * width and right edge come from the first rows carrying those timestamps. That row-order reading
 * matters because real NAB files repeat timestamps and step back in time. A window whose bounds
 * are not row timestamps (never the case in NAB, whose labeller snaps them) is first shrunk to the
 * earliest and latest row times inside it; one containing no row is not scored at all.
 */
export function fileLayout(file: Pick<NabFile, 'times' | 'windows'>, firstWindow = 0): FileLayout {
  const { times, windows } = file;
  const n = times.length;
  const probation = probationLength(n);
  const windowOf = new Int32Array(n).fill(-1);
  const unit = new Float64Array(n);

  const pending = snapWindows(times, windows);
  let next = 0;
  let cur = -1;
  let curEnd = 0;
  let right = 0;
  let width = 1;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const t = times[i] as number;
    const open = pending[next];
    if (open !== undefined && t === open.start) {
      cur = open.k;
      curEnd = open.end;
      right = firstIndexOf(times, open.end);
      width = Math.max(right - firstIndexOf(times, open.start) + 1, 1);
      next++;
    }
    if (cur >= 0) {
      windowOf[i] = firstWindow + cur;
      // -(distance to the right edge + 1) / width puts the first row at exactly -1, where the
      // detection earns the full tpWeight after dividing by the sigmoid at -1.
      unit[i] = scaledSigmoid(-(right - i + 1) / width) / MAX_TP;
    } else if (prevRight < 0) {
      unit[i] = -1;
    } else {
      // Distance past the preceding window in units of its width minus one (NAB divides by zero
      // after a one-row window; one row of width keeps the scale finite).
      unit[i] = scaledSigmoid(Math.abs(prevRight - i) / Math.max(prevWidth - 1, 1));
    }
    if (cur >= 0 && t === curEnd) {
      prevRight = i;
      prevWidth = width;
      cur = -1;
    }
  }

  const scored = new Set<number>();
  for (let i = probation; i < n; i++)
    if ((windowOf[i] as number) >= 0) scored.add(windowOf[i] as number);
  return { probation, windowOf, unit, firstWindow, scoredWindows: scored.size };
}

interface PendingWindow {
  /** Index of the window in the file's list. */
  readonly k: number;
  readonly start: number;
  readonly end: number;
}

/** Each window's bounds moved onto the earliest and latest row times inside it. */
function snapWindows(
  times: Float64Array,
  windows: readonly (readonly [number, number])[],
): PendingWindow[] {
  const out: PendingWindow[] = [];
  windows.forEach(([start, end], k) => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const t of times) {
      if (t >= start && t <= end) {
        if (t < lo) lo = t;
        if (t > hi) hi = t;
      }
    }
    if (lo <= hi) out.push({ k, start: lo, end: hi });
  });
  return out;
}

function firstIndexOf(times: Float64Array, t: number): number {
  for (let i = 0; i < times.length; i++) if (times[i] === t) return i;
  return -1;
}
