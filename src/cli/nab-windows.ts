import { resolveStrategy } from '../strategy-files/load.js';
import { runStrategyOnCorpus } from '../eval/runner/run-corpus.js';
import { defaultNabDataDir } from './nab.js';
import { loadCorpus } from '../eval/nab/corpus.js';
import { scoreCorpus } from '../eval/nab/scorer.js';
import { summarizeOutcomes, windowOutcomes } from '../eval/nab/window-report.js';

/**
 * `node dist/cli/nab-windows.js STRATEGY [DATA_DIR]`: runs a strategy on NAB and
 * prints, at its standard-profile threshold, one line per window (missed, or how deep into the
 * window the first detection came) and a summary. Guides work on earlier detection.
 */
const [strategyArg, dataArg] = process.argv.slice(2);
if (strategyArg === undefined) {
  process.stderr.write('usage: nab-windows.js <strategy name|file> [nab data dir]\n');
  process.exit(2);
}
const strategy = await resolveStrategy(strategyArg);
const corpus = await loadCorpus(dataArg ?? defaultNabDataDir());
const run = await runStrategyOnCorpus(
  corpus.dataDir,
  strategy,
  corpus.files.map((f) => f.values.length),
  1,
);
const score = scoreCorpus(corpus, run.scores);
const threshold = score.standard.threshold;
const outcomes = windowOutcomes(corpus, run.scores, threshold);
const lines = outcomes.map(
  (o) =>
    `${o.file}#${o.window}\trows ${o.rows}\t` +
    (o.delay === null
      ? `MISSED\tpeak ${o.peak.toFixed(3)}`
      : `delay ${o.delay}\tdepth ${o.depth!.toFixed(2)}\treward ${o.reward.toFixed(3)}`) +
    `\tfp-before ${o.detectionsBefore}`,
);
const s = summarizeOutcomes(outcomes);
process.stdout.write(
  `${lines.join('\n')}\nthreshold ${threshold.toFixed(6)}: ${s.hits}/${s.windows} windows hit, ` +
    `${s.missed} missed; mean reward of a hit ${s.meanReward.toFixed(3)}, ` +
    `${s.lostToLateness.toFixed(2)} window-rewards lost to lateness; ` +
    `median depth ${s.medianDepth?.toFixed(2) ?? '-'}\n`,
);
