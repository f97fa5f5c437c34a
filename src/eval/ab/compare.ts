/**
 * The A/B comparison: per strategy, per file and overall, the window metrics (metrics.ts), the
 * NAB score (the project's exact scorer: thresholds optimised per profile, and also scored at the
 * strategy's own alarms), per-point latency, and a verdict of who wins on what.
 */
import { PROFILE_NAMES, scoreCorpus } from '../nab/index.js';
import type { NabCorpus, NabScore, ProfileName } from '../nab/index.js';
import { addCounts, emptyCounts, fileCounts, rates } from './metrics.js';
import type { Counts, Rates } from './metrics.js';
import type { FileRun, PairRun } from './replay.js';

export type NabScores = Record<ProfileName, number | null>;

export interface SideMetrics extends Rates {
  readonly counts: Counts;
  /** NAB normalised scores, thresholds optimised per profile over the data set (as `nab run`). */
  readonly nab: NabScores;
  /** The NAB optimised threshold of each profile. */
  readonly nabThresholds: Record<ProfileName, number>;
  /** NAB normalised scores when the strategy's own flagged rows are the detections. */
  readonly nabAtAlarms: NabScores;
  /** Points replayed (probation included) and the measured scoring time per point. */
  readonly replayedPoints: number;
  readonly nsPerPoint: number | null;
}

export interface FileSideMetrics extends Rates {
  readonly counts: Counts;
  readonly nabStandard: number | null;
  readonly nsPerPoint: number | null;
}

export interface FileComparison {
  readonly relPath: string;
  readonly points: number;
  readonly windows: number;
  readonly a: FileSideMetrics;
  readonly b: FileSideMetrics;
}

/** A metric the verdict compares, with which direction is better. */
export interface VerdictItem {
  readonly metric: string;
  readonly a: number | null;
  readonly b: number | null;
  readonly winner: 'A' | 'B' | 'tie' | 'n/a';
}

export interface Comparison {
  readonly a: SideMetrics;
  readonly b: SideMetrics;
  readonly files: readonly FileComparison[];
  readonly verdict: readonly VerdictItem[];
  readonly verdictLine: string;
}

const normalized = (s: NabScore): NabScores => ({
  standard: s.standard.normalized,
  reward_low_FP_rate: s.reward_low_FP_rate.normalized,
  reward_low_FN_rate: s.reward_low_FN_rate.normalized,
});

function flaggedAsScores(runs: readonly FileRun[]): Float64Array[] {
  return runs.map((r) => Float64Array.from(r.levels, (l) => (l >= 1 ? 1 : 0)));
}

const AT_HALF = { standard: 0.5, reward_low_FP_rate: 0.5, reward_low_FN_rate: 0.5 };

function sideMetrics(corpus: NabCorpus, runs: readonly FileRun[]): SideMetrics {
  const counts = emptyCounts();
  let points = 0;
  let nanos = 0;
  corpus.files.forEach((file, f) => {
    const run = runs[f] as FileRun;
    addCounts(counts, fileCounts(file, run.levels, run.events));
    points += file.times.length;
    nanos += run.nanos;
  });
  const nab = scoreCorpus(
    corpus,
    runs.map((r) => r.scores),
  );
  const atAlarms = scoreCorpus(corpus, flaggedAsScores(runs), { thresholds: AT_HALF });
  return {
    ...rates(counts),
    counts,
    nab: normalized(nab),
    nabThresholds: { ...nab.thresholds },
    nabAtAlarms: normalized(atAlarms),
    replayedPoints: points,
    nsPerPoint: points > 0 ? nanos / points : null,
  };
}

function fileSide(corpus: NabCorpus, f: number, run: FileRun, threshold: number): FileSideMetrics {
  const file = corpus.files[f]!;
  const counts = fileCounts(file, run.levels, run.events);
  const one = scoreCorpus({ ...corpus, files: [file] }, [run.scores], {
    thresholds: {
      standard: threshold,
      reward_low_FP_rate: threshold,
      reward_low_FN_rate: threshold,
    },
  });
  return {
    ...rates(counts),
    counts,
    nabStandard: one.standard.normalized,
    nsPerPoint: file.times.length > 0 ? run.nanos / file.times.length : null,
  };
}

/** Higher is better unless listed here. */
const LOWER_IS_BETTER = new Set([
  'false-positive rate',
  'alarms per 10k',
  'mean delay (points)',
  'ns per point',
]);

/**
 * Relative difference under which two numbers tie: exact metrics tie only when equal (to 1e-9);
 * latency is noisy on a shared machine, so it ties within 10 %.
 */
function tieTolerance(metric: string): number {
  return metric === 'ns per point' ? 0.1 : 1e-9;
}

export function verdictItem(metric: string, a: number | null, b: number | null): VerdictItem {
  if (a === null || b === null) return { metric, a, b, winner: 'n/a' };
  const scale = Math.max(Math.abs(a), Math.abs(b), 1e-12);
  if (Math.abs(a - b) / scale <= tieTolerance(metric)) return { metric, a, b, winner: 'tie' };
  const aBetter = LOWER_IS_BETTER.has(metric) ? a < b : a > b;
  return { metric, a, b, winner: aBetter ? 'A' : 'B' };
}

export function verdictOf(a: SideMetrics, b: SideMetrics): VerdictItem[] {
  return [
    verdictItem('precision', a.precision, b.precision),
    verdictItem('recall', a.recall, b.recall),
    verdictItem('F1', a.f1, b.f1),
    verdictItem('false-positive rate', a.falsePositiveRate, b.falsePositiveRate),
    verdictItem('alarms per 10k', a.alarmsPer10k, b.alarmsPer10k),
    ...PROFILE_NAMES.map((p) => verdictItem(`NAB ${p}`, a.nab[p], b.nab[p])),
    verdictItem('mean delay (points)', a.meanDelayPoints, b.meanDelayPoints),
    verdictItem('ns per point', a.nsPerPoint, b.nsPerPoint),
  ];
}

export function verdictSentence(
  items: readonly VerdictItem[],
  nameA: string,
  nameB: string,
): string {
  const on = (w: VerdictItem['winner']): string[] =>
    items.filter((i) => i.winner === w).map((i) => i.metric);
  const parts: string[] = [];
  const wa = on('A');
  const wb = on('B');
  const tie = on('tie');
  if (wa.length > 0) parts.push(`A (${nameA}) wins on ${wa.join(', ')}`);
  if (wb.length > 0) parts.push(`B (${nameB}) wins on ${wb.join(', ')}`);
  if (tie.length > 0) parts.push(`tie on ${tie.join(', ')}`);
  const f1 = items.find((i) => i.metric === 'F1')?.winner;
  const nab = items.find((i) => i.metric === 'NAB standard')?.winner;
  const overall =
    f1 === nab && (f1 === 'A' || f1 === 'B')
      ? `; overall ${f1} (${f1 === 'A' ? nameA : nameB}) is better on F1 and the NAB standard score`
      : '';
  return `verdict: ${parts.join('; ') || 'nothing to compare'}${overall}`;
}

export function compare(
  corpus: NabCorpus,
  run: PairRun,
  names: { readonly a: string; readonly b: string },
): Comparison {
  const a = sideMetrics(corpus, run.a);
  const b = sideMetrics(corpus, run.b);
  const files = corpus.files.map((file, f) => {
    const fa = fileSide(corpus, f, run.a[f]!, a.nabThresholds.standard);
    const fb = fileSide(corpus, f, run.b[f]!, b.nabThresholds.standard);
    return {
      relPath: file.relPath,
      points: file.times.length,
      windows: fa.counts.windows,
      a: fa,
      b: fb,
    };
  });
  const verdict = verdictOf(a, b);
  return { a, b, files, verdict, verdictLine: verdictSentence(verdict, names.a, names.b) };
}
