import { parse } from 'csv-parse/sync';
import { VigilError } from '../errors.js';

/** Column names taken as the time column when none is named (as `vigil detect` does). */
const TIME_COLUMN_NAMES = ['timestamp', 'time', 'datetime', 'date', 'ts'];

/**
 * Beyond this magnitude a value does not fit the float32 numbers an ONNX model computes with
 * (float32's largest is 3.4e38; the margin keeps squares of standardised values finite too).
 */
const LARGEST_VALUE = 1e30;

/**
 * A float32 input resolves about 7 significant digits: a metric whose spread is below a
 * millionth of its level would be fed to the model as a few steps of rounding noise.
 */
const SMALLEST_RELATIVE_SPREAD = 1e-6;

export interface TrainingTableOptions {
  /** Value columns in the model's order; default every numeric column besides time. */
  readonly columns?: readonly string[];
  readonly timeColumn?: string;
  /** Only the first `rows` data rows are read (the training period). */
  readonly rows?: number;
  /** Shown in error messages, usually the file path. */
  readonly source: string;
}

export interface TrainingTable {
  readonly metrics: readonly string[];
  /** One vector per data row, in `metrics` order. */
  readonly rows: readonly Float64Array[];
  /** Columns left out by default because none of their cells is a number. */
  readonly skipped: readonly string[];
}

/**
 * The training rows of a vector autoencoder from CSV text with a header row. Stricter than
 * scoring input: a model learns every training row as normal, so an empty, `NaN`, non-numeric
 * or float32-overflowing cell, a duplicated or unknown column, or fewer rows than asked for is a
 * VIGIL_ERR_INPUT naming the line and column, never a silent gap.
 */
export function readTrainingTable(text: string, options: TrainingTableOptions): TrainingTable {
  const { source } = options;
  const fail = (line: number | undefined, what: string): VigilError =>
    new VigilError('VIGIL_ERR_INPUT', `${source}${line === undefined ? '' : `:${line}`}: ${what}`);
  let records: string[][];
  try {
    records = parse(text, {
      skip_empty_lines: true,
      trim: true,
      bom: true,
      relax_column_count: true,
      ...(options.rows === undefined ? {} : { to: options.rows + 1 }),
    }) as string[][];
  } catch (err) {
    throw new VigilError('VIGIL_ERR_INPUT', `${source}: ${(err as Error).message}`, { cause: err });
  }
  const header = records[0];
  if (header === undefined) throw fail(1, 'the file is empty (no header row)');
  const data = records.slice(1);
  if (options.rows !== undefined && data.length < options.rows) {
    throw fail(
      undefined,
      `--train-rows ${options.rows}, but the file has ${data.length} data rows`,
    );
  }
  const timeIndex = timeColumnOf(header, options.timeColumn, fail);
  const chosen =
    options.columns === undefined
      ? numericColumns(header, data, timeIndex)
      : namedColumns(header, options.columns, timeIndex, fail);
  const names = chosen.map((i) => header[i]!);
  const duplicated = names.find((name, k) => names.indexOf(name) !== k);
  if (duplicated !== undefined) {
    throw fail(
      1,
      `the column name "${duplicated}" appears more than once: metric names must be distinct`,
    );
  }
  if (names.length === 0) throw fail(1, 'no numeric value column besides the time column');
  const rows = data.map((cells, r) => {
    const line = r + 2;
    if (cells.length !== header.length) {
      throw fail(line, `${cells.length} cells, the header has ${header.length} columns`);
    }
    return Float64Array.from(chosen, (c) => numberOf(cells[c]!, header[c]!, line, fail));
  });
  checkResolution(rows, names, fail);
  return { metrics: names, rows, skipped: skippedColumns(header, chosen, timeIndex, options) };
}

function timeColumnOf(
  header: readonly string[],
  timeColumn: string | undefined,
  fail: (line: number, what: string) => VigilError,
): number {
  if (timeColumn !== undefined) {
    const index = header.indexOf(timeColumn);
    if (index < 0) {
      throw fail(1, `no column named "${timeColumn}" (columns: ${header.join(', ')})`);
    }
    return index;
  }
  const lower = header.map((c) => c.toLowerCase());
  for (const name of TIME_COLUMN_NAMES) {
    const index = lower.indexOf(name);
    if (index >= 0) return index;
  }
  return -1;
}

/** Every column besides time with at least one number among its cells (the rest are text). */
function numericColumns(header: readonly string[], data: string[][], timeIndex: number): number[] {
  return header.flatMap((_, c) => {
    if (c === timeIndex) return [];
    return data.some((cells) => isNumber(cells[c] ?? '')) ? [c] : [];
  });
}

function namedColumns(
  header: readonly string[],
  columns: readonly string[],
  timeIndex: number,
  fail: (line: number, what: string) => VigilError,
): number[] {
  const repeated = columns.find((name, k) => columns.indexOf(name) !== k);
  if (repeated !== undefined) throw fail(1, `--columns names "${repeated}" twice`);
  return columns.map((name) => {
    const index = header.indexOf(name);
    if (index < 0) {
      throw fail(1, `no column named "${name}" (columns: ${header.join(', ')})`);
    }
    if (index === timeIndex) throw fail(1, `"${name}" is the time column, not a metric`);
    if (header.indexOf(name, index + 1) >= 0) {
      throw fail(
        1,
        `the column name "${name}" appears more than once: metric names must be distinct`,
      );
    }
    return index;
  });
}

function skippedColumns(
  header: readonly string[],
  chosen: readonly number[],
  timeIndex: number,
  options: TrainingTableOptions,
): string[] {
  if (options.columns !== undefined) return [];
  return header.filter((_, c) => c !== timeIndex && !chosen.includes(c));
}

function isNumber(cell: string): boolean {
  return cell !== '' && Number.isFinite(Number(cell));
}

function numberOf(
  cell: string,
  column: string,
  line: number,
  fail: (line: number, what: string) => VigilError,
): number {
  if (cell === '' || cell.toLowerCase() === 'nan') {
    throw fail(
      line,
      `column "${column}" is ${cell === '' ? 'empty' : 'NaN'}: every training row must be a complete, normal reading (drop or fill such rows)`,
    );
  }
  const value = Number(cell);
  if (!Number.isFinite(value)) {
    throw fail(
      line,
      `column "${column}": "${cell}" is not a ${Number.isNaN(value) ? '' : 'finite '}number`,
    );
  }
  if (Math.abs(value) > LARGEST_VALUE) {
    throw fail(
      line,
      `column "${column}": ${cell} is too large for a model computing in float32 (at most ±${LARGEST_VALUE}; rescale the column)`,
    );
  }
  return value;
}

/** Refuses a metric whose variation float32 inputs cannot represent. */
function checkResolution(
  rows: readonly Float64Array[],
  names: readonly string[],
  fail: (line: number | undefined, what: string) => VigilError,
): void {
  names.forEach((name, m) => {
    let min = Infinity;
    let max = -Infinity;
    for (const row of rows) {
      min = Math.min(min, row[m]!);
      max = Math.max(max, row[m]!);
    }
    const level = Math.max(Math.abs(min), Math.abs(max));
    // A constant metric is allowed (the model learns it as constant); a tiny spread on a large
    // level is not: float32 rounds it away.
    if (max > min && max - min < SMALLEST_RELATIVE_SPREAD * level) {
      throw fail(
        undefined,
        `column "${name}" varies by ${max - min} around ${level}: a float32 model cannot resolve ` +
          `that (subtract an offset from the column first)`,
      );
    }
  });
}
