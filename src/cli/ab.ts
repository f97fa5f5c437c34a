/** `vigil ab`: two strategies, one labelled data set, identical input (docs/ab-testing.md). */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { compileStrategy, isVectorStrategy } from '../core/strategy/compile.js';
import { resolveStrategy } from '../strategy-files/load.js';
import type { Strategy } from '../core/strategy/schema.js';
import { VigilError } from '../errors.js';
import { compare, type Comparison } from '../eval/ab/compare.js';
import { loadDataset } from '../eval/ab/dataset.js';
import { replayPair, type Side } from '../eval/ab/replay.js';
import { writeAbReport } from '../eval/ab/report-html.js';
import { consoleReport, jsonReport, type AbMeta } from '../eval/ab/report-text.js';

export interface AbOptions {
  readonly a: string;
  readonly b: string;
  readonly data: string;
  readonly out?: string;
  readonly labels?: string;
  readonly files?: string;
  readonly limit?: number;
}

export interface AbOutcome {
  readonly meta: AbMeta;
  readonly comparison: Comparison;
  readonly htmlPath?: string;
}

export function sideOf(strategy: Strategy): Side {
  if (isVectorStrategy(strategy)) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `strategy ${strategy.name} scores devices (multivariate); vigil ab compares univariate strategies`,
    );
  }
  const pipelineFor = compileStrategy(strategy);
  return { name: `${strategy.name}@${strategy.version}`, scorerFor: (key) => pipelineFor(key) };
}

/** Run the comparison; writes the report folder when `out` is given. */
export async function runAb(options: AbOptions): Promise<AbOutcome> {
  const [strategyA, strategyB] = await Promise.all([
    resolveStrategy(options.a),
    resolveStrategy(options.b),
  ]);
  const a = sideOf(strategyA);
  const b = sideOf(strategyB);
  const dataset = await loadDataset(options.data, {
    ...(options.files === undefined ? {} : { files: options.files }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    ...(options.labels === undefined ? {} : { labels: options.labels }),
  });
  const { corpus } = dataset;
  const run = replayPair(corpus, a, b);
  const comparison = compare(corpus, run, { a: a.name, b: b.name });
  const meta: AbMeta = {
    data: corpus.dataDir,
    layout: dataset.layout,
    labels: options.labels ?? null,
    a: { name: a.name, source: options.a },
    b: { name: b.name, source: options.b },
    files: corpus.files.length,
    points: corpus.files.reduce((n, f) => n + f.times.length, 0),
  };
  if (options.out === undefined) return { meta, comparison };
  const htmlPath = await writeAbReport(options.out, meta, corpus, run, comparison);
  return { meta, comparison, htmlPath };
}

function toCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function registerAbCommand(program: Command): void {
  program
    .command('ab')
    .description('compare two strategies on a labelled data set (identical, time-aligned input)')
    .requiredOption('--a <name|file>', 'strategy A: built-in name or YAML file')
    .requiredOption('--b <name|file>', 'strategy B: built-in name or YAML file')
    .requiredOption('--data <dir>', 'NAB layout, or a folder of CSV files (timestamp,value,label)')
    .option('--out <dir>', 'write report.html, report.json and plots/*.svg here')
    .option('--labels <file>', 'combined_windows.json-style labels replacing the data set’s own')
    .option('--files <glob>', 'only files whose relative path matches (e.g. "realKnownCause/*")')
    .option('--limit <n>', 'at most this many files', toCount)
    .option('--json', 'print the JSON report instead of the table')
    .action(async (options: AbOptions & { json?: boolean }) => {
      const outcome = await runAb(options);
      process.stdout.write(
        options.json
          ? JSON.stringify(jsonReport(outcome.meta, outcome.comparison), null, 2) + '\n'
          : consoleReport(outcome.meta, outcome.comparison) + '\n',
      );
      if (outcome.htmlPath !== undefined) process.stderr.write(`report: ${outcome.htmlPath}\n`);
    });
}
