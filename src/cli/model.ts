import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
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
import { readTrainingTable } from '../models/training-table.js';
import {
  trainVectorAutoencoder,
  vectorAutoencoderToOnnx,
  type VectorActivation,
} from '../models/vector-autoencoder.js';

/**
 * `vigil model train` and `vigil model score`: autoencoders in ONNX files — over windows of one
 * column (`--column`, or a file of one value column), or over windows of the vectors of several
 * columns, the model of the `onnx` vector detector (`--columns`, or a file of several).
 */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('autoencoders as ONNX models');
  model
    .command('train')
    .description(
      'train a dense autoencoder on normal data and write it as ONNX: over windows of one ' +
        'column (--column, or the only value column), or over windows of vectors of several ' +
        'columns for the onnx vector detector (--columns, or every numeric column of a file with several)',
    )
    .requiredOption('--input <file>', 'CSV file with normal data and a header row')
    .requiredOption(
      '--window <n>',
      'points per window (one column, ≥ 4) or vectors per window (several columns)',
      toPositive,
    )
    .requiredOption('--out <file>', 'ONNX file to write (models/<name>.onnx for `kind: onnx`)')
    .option(
      '--hidden <n>',
      'bottleneck width (default: window / 4; several columns: window × metrics × 3/4, or / 4 with tanh)',
      toPositive,
    )
    .option(
      '--epochs <n>',
      'passes over the training windows (default: 30, or 40 for several columns)',
      toPositive,
    )
    .option(
      '--activation <kind>',
      'code layer of a vector autoencoder: linear (default), hybrid (mostly linear units, a few tanh: for long training periods) or tanh',
      toActivation,
    )
    .option('--seed <n>', 'seed for initialisation and shuffling', toCount, 1)
    .option('--column <name>', 'the one value column of a window autoencoder')
    .option(
      '--columns <names>',
      'comma-separated metric columns of a vector autoencoder, in the device order (default: every numeric column)',
      toNames,
    )
    .option('--train-rows <n>', 'train on the first N data rows only (default: all)', toPositive)
    .option(
      '--time-column <name>',
      'event-time column (default: timestamp/time/datetime/date/ts if present)',
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
  epochs?: number;
  activation?: VectorActivation;
  seed: number;
  column?: string;
  columns?: string[];
  trainRows?: number;
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
  if (options.column !== undefined && options.columns !== undefined) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      '--column trains a window autoencoder of one column, --columns a vector autoencoder: give one',
    );
  }
  if (options.columns !== undefined || (await severalValueColumns(options))) {
    await trainVectorCommand(options);
    return;
  }
  const series = await readColumn(options.input, options.column, options.timeColumn);
  const rows = options.trainRows;
  if (rows !== undefined && rows > series.values.length) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${options.input}: --train-rows ${rows}, but the file has ${series.values.length} data rows`,
    );
  }
  if (options.activation !== undefined) {
    throw new VigilError('VIGIL_ERR_USAGE', '--activation is for vector autoencoders (--columns)');
  }
  const started = performance.now();
  const trained = trainAutoencoder(series.values.subarray(0, rows), {
    window: options.window,
    epochs: options.epochs ?? 30,
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

/** Without --column, does the file have more than one value column (a vector model)? */
async function severalValueColumns(options: TrainOptions): Promise<boolean> {
  if (options.column !== undefined) return false;
  const table = await openTable(options.input, options.timeColumn);
  const several = table.header.valueNames.length > 1;
  // Only the header was needed: stop reading.
  await table.rows[Symbol.asyncIterator]().return?.();
  return several;
}

async function trainVectorCommand(options: TrainOptions): Promise<void> {
  const table = readTrainingTable(await readFile(options.input, 'utf8'), {
    source: options.input,
    ...(options.columns === undefined ? {} : { columns: options.columns }),
    ...(options.timeColumn === undefined ? {} : { timeColumn: options.timeColumn }),
    ...(options.trainRows === undefined ? {} : { rows: options.trainRows }),
  });
  const started = performance.now();
  const trained = trainVectorAutoencoder(table.rows, {
    window: options.window,
    seed: options.seed,
    ...(options.epochs === undefined ? {} : { epochs: options.epochs }),
    ...(options.activation === undefined ? {} : { activation: options.activation }),
    ...(options.hidden === undefined ? {} : { hidden: options.hidden }),
  });
  const seconds = (performance.now() - started) / 1000;
  await writeAtomically(options.out, vectorAutoencoderToOnnx(trained, table.metrics));
  const F = trained.window * trained.dimensions;
  const skipped =
    table.skipped.length === 0 ? '' : `; not numeric, left out: ${table.skipped.join(', ')}`;
  process.stderr.write(
    `trained ${F}-${trained.hidden}-${F} over windows of ${trained.window} vectors of ` +
      `${trained.dimensions} metrics (${table.metrics.join(', ')}) on ${trained.windows} windows ` +
      `of ${table.rows.length} rows (${trained.activation}, ${trained.epochs} epochs, loss ${trained.finalLoss.toPrecision(3)}) ` +
      `in ${seconds.toFixed(2)} s${skipped} → ${options.out}\n`,
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

function toActivation(text: string): VectorActivation {
  if (text !== 'hybrid' && text !== 'linear' && text !== 'tanh') {
    throw new InvalidArgumentError('expected hybrid, linear or tanh');
  }
  return text;
}

function toNames(text: string): string[] {
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) {
    throw new InvalidArgumentError('expected comma-separated column names, none empty');
  }
  return names;
}

function toCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}
