import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadCorpus,
  loadPublished,
  scoreCorpus,
  readResultsDir,
  writeResultsDir,
} from '../eval/nab/index.js';
import { runStrategyOnCorpus } from '../eval/runner/run-corpus.js';
import { alarmLine, scoreLine, scoreTable } from '../eval/runner/report.js';
import { falseAlarms } from '../eval/false-alarms.js';
import { writeNabReport } from '../eval/runner/report-html.js';
import { resolveStrategy } from '../strategy-files/load.js';

/** `$NAB_DATA`, else the corpus in the shared folder beside the repository. */
export function defaultNabDataDir(): string {
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  return process.env.NAB_DATA ?? path.resolve(repoRoot, '../shared/datasets/nab');
}

/**
 * Scores a results folder. A detector with published thresholds (`config/thresholds.json`) is
 * scored at those, as NAB's own scoring step does, which is the only way its published numbers
 * come out (they were optimised by different optimisers on different corpus versions); any other
 * detector gets each profile's threshold optimised over the whole corpus.
 */
export async function nabScore(resultsDir: string, dataDir: string): Promise<void> {
  const [corpus, published] = await Promise.all([loadCorpus(dataDir), loadPublished(dataDir)]);
  const results = await readResultsDir(resultsDir, corpus);
  const stored = published.thresholds[results.detector];
  const score = scoreCorpus(
    corpus,
    results.scores,
    stored === undefined ? {} : { thresholds: stored },
  );
  const how =
    stored === undefined ? `optimised (${score.optimizer})` : 'published (config/thresholds.json)';
  process.stdout.write(
    `detector: ${results.detector}, thresholds: ${how}\n${scoreTable(score)}\n${scoreLine(score)}\n`,
  );
}

export interface NabRunOptions {
  readonly strategy: string;
  readonly data: string;
  readonly out?: string;
  readonly workers?: number;
  /** Write an HTML report (score table, per-file plots) into this folder. */
  readonly report?: string;
}

export async function nabRun(options: NabRunOptions): Promise<void> {
  const strategy = await resolveStrategy(options.strategy);
  const corpus = await loadCorpus(options.data);
  const run = await runStrategyOnCorpus(
    corpus.dataDir,
    strategy,
    corpus.files.map((f) => f.values.length),
    options.workers,
  );
  if (options.out !== undefined) {
    await writeResultsDir(options.out, strategy.name, corpus, run.scores);
  }
  const score = scoreCorpus(corpus, run.scores);
  const strategyId = `${strategy.name}@${strategy.version}`;
  const alarms = falseAlarms(
    corpus,
    corpus.files.map((_, i) => ({ levels: run.levels[i]!, events: run.events[i]! })),
  );
  if (options.report !== undefined) {
    const index = await writeNabReport(options.report, {
      strategy: strategyId,
      corpus,
      score,
      scores: run.scores,
      levels: run.levels,
      alarms,
    });
    process.stderr.write(`report: ${index}\n`);
  }
  const perCore = run.points / run.cpuSeconds;
  const overall = run.points / run.wallSeconds;
  process.stdout.write(
    `strategy: ${strategyId}\n${scoreTable(score)}\n${alarmLine(alarms)}\n` +
      `${run.points} points in ${run.wallSeconds.toFixed(2)} s on ${run.workers} workers: ` +
      `${Math.round(overall).toLocaleString('en-US')} points/s overall, ` +
      `${Math.round(perCore).toLocaleString('en-US')} points/s per core\n` +
      `${scoreLine(score)}\n`,
  );
}
