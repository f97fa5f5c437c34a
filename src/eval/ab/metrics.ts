/**
 * Detection metrics of one strategy on labelled series, window-based: detected windows, false
 * alarms, precision, recall, F1, false-positive rate, alarms per 10k and detection delay, with
 * NAB's probationary rows counted as warm-up. Definitions: docs/ab-testing.md, "Metrics".
 */
import type { AnomalyEvent } from '../../core/events/types.js';
import type { NabFile } from '../nab/index.js';
import { fileLayout } from '../nab/layout.js';

/** Additive counts of one file (or a sum of files). */
export interface Counts {
  /** Rows counted (after the probation). */
  points: number;
  windows: number;
  detectedWindows: number;
  alarms: number;
  falseAlarms: number;
  /** Counted rows outside every window, and those of them flagged. */
  pointsOutside: number;
  flaggedOutside: number;
  /** Sums over detected windows, for the mean delay. */
  delayPointsSum: number;
  delayMsSum: number;
}

export interface Rates {
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly falsePositiveRate: number | null;
  readonly alarmsPer10k: number | null;
  readonly meanDelayPoints: number | null;
  readonly meanDelayMs: number | null;
}

export function emptyCounts(): Counts {
  return {
    points: 0,
    windows: 0,
    detectedWindows: 0,
    alarms: 0,
    falseAlarms: 0,
    pointsOutside: 0,
    flaggedOutside: 0,
    delayPointsSum: 0,
    delayMsSum: 0,
  };
}

export function addCounts(into: Counts, c: Counts): Counts {
  for (const key of Object.keys(into) as (keyof Counts)[]) into[key] += c[key];
  return into;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function rates(c: Counts): Rates {
  const precision = ratio(c.detectedWindows, c.detectedWindows + c.falseAlarms);
  const recall = ratio(c.detectedWindows, c.windows);
  const f1 =
    precision === null || recall === null
      ? null
      : precision + recall > 0
        ? (2 * precision * recall) / (precision + recall)
        : 0;
  return {
    precision,
    recall,
    f1,
    falsePositiveRate: ratio(c.flaggedOutside, c.pointsOutside),
    alarmsPer10k: c.points > 0 ? (c.alarms * 10_000) / c.points : null,
    meanDelayPoints: ratio(c.delayPointsSum, c.detectedWindows),
    meanDelayMs: ratio(c.delayMsSum, c.detectedWindows),
  };
}

/** First row whose time is at or after `t` (rows are in time order, give or take NAB's repeats). */
function rowAtOrAfter(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts of one file. `levels[i]` is row i's level code (0 ok, 1 alert, 2 severe); `events` the
 * file's events (several states of one id count once, the last one wins).
 */
export function fileCounts(
  file: Pick<NabFile, 'times' | 'windows'>,
  levels: Uint8Array,
  events: readonly AnomalyEvent[],
): Counts {
  const { times } = file;
  const n = times.length;
  if (levels.length !== n) throw new Error(`${levels.length} levels for ${n} rows`);
  const layout = fileLayout(file);
  const c = emptyCounts();
  const firstRow = new Map<number, number>();
  const detected = new Set<number>();
  for (let i = 0; i < n; i++) {
    const w = layout.windowOf[i] as number;
    if (w >= 0 && !firstRow.has(w)) firstRow.set(w, i);
    if (i < layout.probation) continue;
    c.points++;
    const flagged = (levels[i] as number) >= 1;
    if (w < 0) {
      c.pointsOutside++;
      if (flagged) c.flaggedOutside++;
    } else if (flagged && !detected.has(w)) {
      detected.add(w);
      const first = firstRow.get(w) as number;
      c.delayPointsSum += i - first;
      c.delayMsSum += (times[i] as number) - (times[first] as number);
    }
  }
  c.windows = layout.scoredWindows;
  c.detectedWindows = detected.size;

  const last = new Map<string, AnomalyEvent>();
  for (const e of events) last.set(e.id, e);
  const lastTime = n > 0 ? (times[n - 1] as number) : 0;
  for (const e of last.values()) {
    if (rowAtOrAfter(times, e.start) < layout.probation) continue;
    c.alarms++;
    const end = e.end ?? lastTime;
    if (!file.windows.some(([a, b]) => e.start <= b && end >= a)) c.falseAlarms++;
  }
  return c;
}
