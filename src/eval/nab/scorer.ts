import { PROFILE_NAMES } from './corpus.js';
import type { CostMatrix, NabCorpus, ProfileName } from './corpus.js';
import { addParts, emptyParts, evaluateFile, rawScore } from './evaluate.js';
import type { ScoreParts } from './evaluate.js';
import { corpusLayout } from './layout.js';
import type { FileLayout } from './layout.js';
import { DEFAULT_OPTIMIZER, OPTIMIZER_NAMES, optimizeThreshold } from './optimize.js';
import type { OptimizerName } from './optimize.js';
import { sweepCorpus } from './sweep.js';

/** A score under one profile, for the whole corpus or one category. */
export interface ProfileScore {
  /** NAB raw score: sum over files of window rewards, missed-window costs and FP costs. */
  readonly raw: number;
  /**
   * `100 * (raw - nullScore) / (perfectScore - nullScore)`: 0 for a detector that never fires,
   * 100 for one that fires exactly at the start of every window and nowhere else. Null when
   * there is no scored window to normalise against (e.g. `artificialNoAnomaly`).
   */
  readonly normalized: number | null;
  /** Raw score of the null detector: every counted window missed. */
  readonly nullScore: number;
  /** Raw score of the perfect detector: tpWeight per counted window. */
  readonly perfectScore: number;
  /** Windows detected, out of the windows that count (those with a row past probation). */
  readonly windowsDetected: number;
  readonly windows: number;
  /** NAB's row-level counts over scored (non-probationary) rows at the threshold. */
  readonly counts: {
    readonly tp: number;
    readonly fp: number;
    readonly fn: number;
    readonly tn: number;
  };
}

/** The corpus-wide score of one profile and the threshold it was scored at. */
export interface CorpusProfileScore extends ProfileScore {
  /** A row is a detection when its anomaly score is `>= threshold`. */
  readonly threshold: number;
}

export interface CategoryScore {
  readonly category: string;
  readonly files: number;
  /** Scored at each profile's corpus-wide threshold, normalised with the category's own bounds. */
  readonly profiles: Readonly<Record<ProfileName, ProfileScore>>;
}

export interface NabScore {
  /** How the thresholds were chosen (profiles given a fixed threshold aside). */
  readonly optimizer: OptimizerName;
  readonly standard: CorpusProfileScore;
  readonly reward_low_FP_rate: CorpusProfileScore;
  readonly reward_low_FN_rate: CorpusProfileScore;
  /** The threshold of each profile (copied from the entries above for convenience). */
  readonly thresholds: Readonly<Record<ProfileName, number>>;
  /** One entry per category, sorted by name. */
  readonly perCategory: readonly CategoryScore[];
}

export interface ScoreOptions {
  /**
   * How to optimise the threshold of each profile (default `DEFAULT_OPTIMIZER`, `'exhaustive'`):
   * `'exhaustive'` tries every distinct score (NAB's current optimiser, the global optimum);
   * `'nab'` runs NAB's original step search, which found numenta's published thresholds
   * bit for bit but is a local search and never scores higher. See `OptimizerName`.
   */
  readonly optimizer?: OptimizerName;
  /**
   * Score these profiles at a given threshold instead of optimising it. NAB's scoreboard was
   * scored at the thresholds stored in `config/thresholds.json` (see `loadPublished`); no
   * optimiser finds all of them on the shipped results (random's were optimised on an older
   * corpus), so reproducing every published number needs this.
   */
  readonly thresholds?: Partial<Record<ProfileName, number>>;
}

/**
 * Score a detector on the corpus as NAB does: for each profile, optimise the threshold on the
 * corpus raw score (`options.optimizer`; by default every distinct anomaly score of the corpus is
 * tried and the best kept, ties going to the highest threshold), then score each file at that
 * threshold and normalise between the null and perfect detectors.
 *
 * `scores[f]` holds the anomaly score of every row of `corpus.files[f]` (same order, same length,
 * finite numbers; NAB scores lie in [0, 1] but any finite range works).
 */
export function scoreCorpus(
  corpus: NabCorpus,
  scores: readonly Float64Array[],
  options: ScoreOptions = {},
): NabScore {
  checkScores(corpus, scores);
  const layout = corpusLayout(corpus);
  const optimizer = options.optimizer ?? DEFAULT_OPTIMIZER;
  if (!OPTIMIZER_NAMES.includes(optimizer)) {
    throw new Error(`unknown threshold optimizer "${String(optimizer)}" (nab or exhaustive)`);
  }
  const fixed = options.thresholds ?? {};
  const needSweep = PROFILE_NAMES.some((p) => fixed[p] === undefined);
  const curve = needSweep ? sweepCorpus(layout, scores) : undefined;

  const thresholds = mapProfiles((p) => {
    const given = fixed[p];
    if (given !== undefined || curve === undefined) return given as number;
    return optimizeThreshold(curve, corpus.profiles[p], optimizer);
  });

  // Per-file parts at each profile's threshold, summed per category and overall.
  const total = {} as Record<ProfileName, ScoreParts>;
  const byCategory = new Map<string, { files: number; parts: Record<ProfileName, ScoreParts> }>();
  for (const profile of PROFILE_NAMES) total[profile] = emptyParts();
  corpus.files.forEach((file, f) => {
    let cat = byCategory.get(file.category);
    if (cat === undefined) {
      cat = { files: 0, parts: {} as Record<ProfileName, ScoreParts> };
      for (const profile of PROFILE_NAMES) cat.parts[profile] = emptyParts();
      byCategory.set(file.category, cat);
    }
    cat.files++;
    for (const profile of PROFILE_NAMES) {
      const fl = layout.files[f] as FileLayout;
      const parts = evaluateFile(fl, scores[f] as Float64Array, thresholds[profile]);
      addParts(total[profile], parts);
      addParts(cat.parts[profile], parts);
    }
  });

  const perCategory = [...byCategory.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([category, { files, parts }]) => ({
      category,
      files,
      profiles: mapProfiles((p) => profileScore(parts[p], corpus.profiles[p])),
    }));

  const corpusScore = (p: ProfileName): CorpusProfileScore => ({
    threshold: thresholds[p],
    ...profileScore(total[p], corpus.profiles[p]),
  });
  return {
    optimizer,
    standard: corpusScore('standard'),
    reward_low_FP_rate: corpusScore('reward_low_FP_rate'),
    reward_low_FN_rate: corpusScore('reward_low_FN_rate'),
    thresholds,
    perCategory,
  };
}

function profileScore(parts: ScoreParts, cost: CostMatrix): ProfileScore {
  const raw = rawScore(parts, cost);
  const nullScore = -cost.fnWeight * parts.scoredWindows;
  const perfectScore = cost.tpWeight * parts.scoredWindows;
  const span = perfectScore - nullScore;
  return {
    raw,
    normalized: span > 0 ? (100 * (raw - nullScore)) / span : null,
    nullScore,
    perfectScore,
    windowsDetected: parts.detected,
    windows: parts.scoredWindows,
    counts: { tp: parts.tp, fp: parts.fp, fn: parts.fn, tn: parts.tn },
  };
}

function mapProfiles<T>(fn: (p: ProfileName) => T): Record<ProfileName, T> {
  return {
    standard: fn('standard'),
    reward_low_FP_rate: fn('reward_low_FP_rate'),
    reward_low_FN_rate: fn('reward_low_FN_rate'),
  };
}

function checkScores(corpus: NabCorpus, scores: readonly Float64Array[]): void {
  if (scores.length !== corpus.files.length) {
    throw new Error(
      `expected ${corpus.files.length} score arrays (one per file), got ${scores.length}`,
    );
  }
  corpus.files.forEach((file, f) => {
    const s = scores[f] as Float64Array;
    if (s.length !== file.times.length) {
      throw new Error(`${file.relPath}: ${s.length} scores for ${file.times.length} rows`);
    }
    for (let i = 0; i < s.length; i++) {
      if (!Number.isFinite(s[i] as number)) {
        throw new Error(`${file.relPath}: score of row ${i + 1} is not finite (${s[i]})`);
      }
    }
  });
}
