/**
 * The Numenta Anomaly Benchmark scorer, reproducing NAB's published numbers.
 *
 * Typical use:
 *   const corpus = await loadCorpus(nabDir);          // data/, labels/, config/ under nabDir
 *   const result = scoreCorpus(corpus, scoresPerFile); // one Float64Array per corpus.files entry
 *   result.standard.normalized                        // 0 = null detector, 100 = perfect
 *   scoreCorpus(corpus, scoresPerFile, { optimizer: 'nab' }); // NAB's original step search
 *
 * Units: timestamps are ms since the epoch (UTC); windows are inclusive `[startMs, endMs]`;
 * anomaly scores are plain numbers, a row being a detection when its score is `>= threshold`.
 */
export { loadCorpus, parseDataFile, PROFILE_NAMES } from './corpus.js';
export type { CostMatrix, NabCorpus, NabFile, ProfileName } from './corpus.js';
export { scoreCorpus } from './scorer.js';
export {
  DEFAULT_OPTIMIZER,
  NAB_TWIDDLE,
  OPTIMIZER_NAMES,
  entryAtThreshold,
  optimizeThreshold,
  sweepObjective,
  twiddle,
} from './optimize.js';
export type { OptimizerName, TwiddleOptions, TwiddleResult } from './optimize.js';
export type {
  CategoryScore,
  CorpusProfileScore,
  NabScore,
  ProfileScore,
  ScoreOptions,
} from './scorer.js';
export { readResultsDir, scoreResultsDir, writeResultsDir } from './results-dir.js';
export type { ResultsDir } from './results-dir.js';
export { loadPublished } from './published.js';
export type { PerDetector, PublishedResults } from './published.js';
export { probationLength, scaledSigmoid } from './layout.js';
