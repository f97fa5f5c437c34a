#!/usr/bin/env -S node --max-semi-space-size=32
// A young generation of 2 × 32 MiB instead of V8's 2 × 16 MiB: ingest allocates short-lived
// points fast enough that the default promotes many of them, and garbage collection took a third
// less CPU per ingested point with it (bench:ingest reads these flags from this line).
import { Command, InvalidArgumentError } from 'commander';
import { VigilError } from '../errors.js';
import { registerAbCommand } from './ab.js';
import { registerLabelsCommands } from './labels.js';
import { detectCsv } from './detect.js';
import { registerModelCommands } from './model.js';
import { nabRun, nabScore, defaultNabDataDir } from './nab.js';
import { listStrategies } from './strategies.js';
import { registerServeCommand } from './serve.js';
import { registerTokenCommands } from './token.js';

/** The one place where Vigil's parts are wired into commands. */
const program = new Command()
  .name('vigil')
  .description('Real-time anomaly detection for IoT and operations time series')
  .showHelpAfterError();

program
  .command('detect')
  .description('score every numeric column of a CSV file, streaming')
  .requiredOption('--input <file>', 'CSV file with a header row')
  .option('--output <file>', 'where to write the scored CSV (default: standard output)')
  .option('--strategy <name|file>', 'built-in strategy name or YAML file', 'default')
  .option('--time-column <name>', 'event-time column (default: timestamp/time/date/ts if present)')
  .option('--train-rows <n>', 'learn the first N rows as normal, never flag them', toCount, 0)
  .option('--events <file>', 'write the events, with their explanations, as JSON lines')
  .action(async (options: DetectCommandOptions) => {
    const summary = await detectCsv({
      input: options.input,
      strategy: options.strategy,
      trainRows: options.trainRows,
      ...(options.output === undefined ? {} : { output: options.output }),
      ...(options.timeColumn === undefined ? {} : { timeColumn: options.timeColumn }),
      ...(options.events === undefined ? {} : { events: options.events }),
    });
    process.stderr.write(
      `${summary.rows} rows scored in ${summary.seconds.toFixed(2)} s: ` +
        `${summary.alerts} alert and ${summary.severe} severe points in ${summary.events} events\n`,
    );
  });

const nab = program.command('nab').description('the Numenta Anomaly Benchmark');
nab
  .command('score')
  .description('score a results folder in NAB layout against the labelled corpus')
  .requiredOption('--results <dir>', 'folder with <category>/<detector>_<file>.csv')
  .option('--data <dir>', 'NAB dataset folder', defaultNabDataDir())
  .action(async (options: { results: string; data: string }) => {
    await nabScore(options.results, options.data);
  });
nab
  .command('run')
  .description('run a strategy over the whole corpus, write results and score them')
  .requiredOption('--strategy <name|file>', 'built-in strategy name or YAML file')
  .option('--out <dir>', 'write the results folder here (NAB layout)')
  .option('--data <dir>', 'NAB dataset folder', defaultNabDataDir())
  .option('--workers <n>', 'worker threads (default: one per core)', toCount)
  .option('--report <dir>', 'write an HTML report with the score table and per-file plots')
  .action(
    async (options: {
      strategy: string;
      out?: string;
      data: string;
      workers?: number;
      report?: string;
    }) => {
      await nabRun(options);
    },
  );

program
  .command('strategies')
  .description('list the built-in strategies')
  .action(async () => {
    await listStrategies();
  });

interface DetectCommandOptions {
  input: string;
  output?: string;
  strategy: string;
  timeColumn?: string;
  trainRows: number;
  events?: string;
}

function toCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

registerModelCommands(program);
registerAbCommand(program);
registerLabelsCommands(program);
registerServeCommand(program);
registerTokenCommands(program);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof VigilError) {
    process.stderr.write(`vigil: ${err.code}: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    throw err;
  }
}
