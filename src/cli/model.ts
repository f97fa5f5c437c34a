import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { type Command, InvalidArgumentError } from 'commander';
import { stringify } from 'csv-stringify';
import { VigilError } from '../errors.js';
import { openCsvTable, type CsvHeader, type CsvTable } from '../ingest/csv/csv-table.js';
import { levelOf } from '../core/thresholds/static.js';
import { trainAutoencoder } from '../models/autoencoder-train.js';
import { META_COLUMN } from '../models/model-metadata.js';
import { autoencoderToOnnx } from '../models/onnx-writer.js';

/** `vigil model train` and `vigil model score`: window autoencoders in ONNX files. */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('window autoencoders as ONNX models');
  model
    .command('train')
    .description('train a dense autoencoder on a normal series and write it as ONNX')
    .requiredOption('--input <file>', 'CSV file with normal data and a header row')
    .requiredOption('--window <n>', 'points per window', toPositive)
    .requiredOption('--out <file>', 'ONNX file to write')
    .option('--hidden <n>', 'bottleneck width (default: window / 4)', toPositive)
    .option('--epochs <n>', 'passes over the training windows', toPositive, 30)
    .option('--seed <n>', 'seed for initialisation and shuffling', toCount, 1)
    .option('--column <name>', 'value column (needed when the file has several)')
    .option(
      '--time-column <name>',
      'event-time column (default: timestamp/time/date/ts if present)',
    )
    .action(async (options: TrainOptions) => {
      await trainCommand(options);
    });
  model
    .command('score')
    .description('score one column of a CSV with a window autoencoder (batch, via onnxruntime)')
    .requiredOption('--model <file>', 'ONNX model: input float32 [batch, window]')
    .requiredOption('--input <file>', 'CSV file with a header row')
    .option('--output <file>', 'where to write the scored CSV (default: standard output)')
    .option('--column <name>', 'value column (default: the one the model was trained on)')
    .option(
      '--time-column <name>',
      'event-time column (default: timestamp/time/date/ts if present)',
    )
    .option(
      '--window <n>',
      'window length, for models whose window dimension is symbolic',
      toPositive,
    )
    .option(
      '--calibration-rows <n>',
      'take the first N rows as normal and calibrate scores on them (models without vigil metadata)',
      toPositive,
    )
    .action(async (options: ScoreOptions) => {
      await scoreCommand(options);
    });
}

interface TrainOptions {
  input: string;
  window: number;
  out: string;
  hidden?: number;
  epochs: number;
  seed: number;
  column?: string;
  timeColumn?: string;
}

interface ScoreOptions {
  model: string;
  input: string;
  output?: string;
  column?: string;
  timeColumn?: string;
  window?: number;
  calibrationRows?: number;
}

async function trainCommand(options: TrainOptions): Promise<void> {
  const series = await readColumn(options.input, options.column, options.timeColumn);
  const started = performance.now();
  const trained = trainAutoencoder(series.values, {
    window: options.window,
    epochs: options.epochs,
    seed: options.seed,
    ...(options.hidden === undefined ? {} : { hidden: options.hidden }),
  });
  const seconds = (performance.now() - started) / 1000;
  await writeAtomically(options.out, autoencoderToOnnx(trained, series.column));
  const t = trained.training;
  process.stderr.write(
    `trained ${trained.window}-${trained.hidden}-${trained.window} on ${t.windows} windows of ` +
      `"${series.column}" (${t.epochs} epochs, loss ${t.finalLoss.toPrecision(3)}) in ` +
      `${seconds.toFixed(2)} s; error typical ${t.calibration.typical.toPrecision(3)}, ` +
      `boundary ${t.calibration.boundary.toPrecision(3)} → ${options.out}\n`,
  );
}

async function scoreCommand(options: ScoreOptions): Promise<void> {
  // onnxruntime loads a native library: only the commands that need it pay for it.
  const { loadWindowModel } = await import('../models/onnx-session.js');
  const { scoreSeries } = await import('../models/window-scorer.js');
  const model = await loadWindowModel(
    options.model,
    options.window === undefined ? {} : { window: options.window },
  );
  try {
    const series = await readColumn(
      options.input,
      options.column,
      options.timeColumn,
      model.metadata.get(META_COLUMN),
    );
    const started = performance.now();
    const scores = await scoreSeries(series.times, series.values, model, {
      ...(options.calibrationRows === undefined
        ? {}
        : { calibrationPoints: options.calibrationRows }),
    });
    const seconds = (performance.now() - started) / 1000;
    const counts = await writeScored(options, scores);
    process.stderr.write(
      `${scores.length} rows of "${series.column}" scored in ${seconds.toFixed(2)} s ` +
        `(${Math.round(scores.length / Math.max(seconds, 1e-9))} points/s): ` +
        `${counts.alert} alert, ${counts.severe} severe\n`,
    );
  } finally {
    await model.release();
  }
}

interface Column {
  readonly column: string;
  readonly times: Float64Array;
  readonly values: Float64Array;
}

/** Reads one value column into memory: batch scoring and training need the whole series. */
async function readColumn(
  file: string,
  column: string | undefined,
  timeColumn: string | undefined,
  preferred?: string,
): Promise<Column> {
  const table = await openTable(file, timeColumn);
  const index = chooseColumn(table.header, file, column, preferred);
  const times: number[] = [];
  const values: number[] = [];
  for await (const row of table.rows) {
    times.push(row.timeMs);
    values.push(row.values[index]!);
  }
  return {
    column: table.header.valueNames[index]!,
    times: Float64Array.from(times),
    values: Float64Array.from(values),
  };
}

function chooseColumn(
  header: CsvHeader,
  file: string,
  column: string | undefined,
  preferred: string | undefined,
): number {
  const names = header.valueNames;
  if (column !== undefined) {
    const index = names.indexOf(column);
    if (index < 0) {
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `${file}: no value column named "${column}" (value columns: ${names.join(', ')})`,
      );
    }
    return index;
  }
  if (names.length === 1) return 0;
  if (preferred !== undefined && names.includes(preferred)) return names.indexOf(preferred);
  throw new VigilError(
    'VIGIL_ERR_USAGE',
    `${file} has several value columns (${names.join(', ')}): choose one with --column`,
  );
}

/** Second pass over the input: echo every row with its score, so memory holds only the scores. */
async function writeScored(
  options: ScoreOptions,
  scores: Float64Array,
): Promise<{ alert: number; severe: number }> {
  const table = await openTable(options.input, options.timeColumn);
  const temporary =
    options.output === undefined ? undefined : `${options.output}.partial-${process.pid}`;
  const sink: Writable =
    temporary === undefined ? process.stdout : createWriteStream(temporary, { flags: 'wx' });
  const csv = stringify();
  const written = pipeline(csv, sink, { end: temporary !== undefined });
  const counts = { alert: 0, severe: 0 };
  let row = 0;
  try {
    csv.write([...table.header.columns, 'score', 'level', 'is_anomaly']);
    for await (const { cells } of table.rows) {
      const score = scores[row++] ?? 0;
      // The static threshold's defaults: the model's own boundary (0.5) is an alert.
      const level = levelOf(score, 0.5, 0.8);
      if (level !== 'ok') counts[level]++;
      if (!csv.write([...cells, score.toFixed(6), level, level === 'ok' ? 0 : 1])) {
        await once(csv, 'drain');
      }
    }
    csv.end();
    await written;
    if (temporary !== undefined) await rename(temporary, options.output!);
  } catch (err) {
    csv.destroy();
    await written.catch(() => undefined);
    if (temporary !== undefined) await unlink(temporary).catch(() => undefined);
    throw err;
  }
  return counts;
}

async function openTable(file: string, timeColumn: string | undefined): Promise<CsvTable> {
  const input = createReadStream(file);
  try {
    return await openCsvTable(input, {
      source: file,
      ...(timeColumn === undefined ? {} : { timeColumn }),
    });
  } catch (err) {
    input.destroy();
    throw err;
  }
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${file}.partial-${process.pid}`;
  try {
    await writeFile(temporary, bytes, { flag: 'wx' });
    await rename(temporary, file);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
}

function toPositive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

function toCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}
