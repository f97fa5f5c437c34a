import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { VigilError } from '../../errors.js';
import { parseTimeCell } from './parse-time.js';

/** Column names tried, in order, when no time column is named. */
const TIME_COLUMN_NAMES = ['timestamp', 'time', 'datetime', 'date', 'ts'];

export interface CsvTableOptions {
  /** Name of the event-time column; found by name (see TIME_COLUMN_NAMES) when omitted. */
  readonly timeColumn?: string;
  /** Shown in error messages, usually the file path. */
  readonly source: string;
}

export interface CsvHeader {
  readonly columns: readonly string[];
  /** Index of the time column, or -1 when the table has none (rows are then 1 s apart). */
  readonly timeIndex: number;
  readonly valueIndexes: readonly number[];
  readonly valueNames: readonly string[];
}

export interface CsvRow {
  /** 1-based line number in the file, for error messages. */
  readonly line: number;
  readonly timeMs: number;
  /** One value per value column; NaN marks an empty (missing) cell. Reused between rows. */
  readonly values: Float64Array;
  /** The raw cells, to echo the input in the output. */
  readonly cells: readonly string[];
}

export interface CsvTable {
  readonly header: CsvHeader;
  readonly rows: AsyncIterable<CsvRow>;
}

/**
 * Reads a CSV with a header row as a stream of numeric rows, so files larger than memory work.
 * Every value column must hold numbers (an empty cell or `NaN` is a missing reading); event time
 * must never go backwards (equal times are allowed). Any violation is a VIGIL_ERR_INPUT error
 * naming the source, line and column.
 */
export async function openCsvTable(input: Readable, options: CsvTableOptions): Promise<CsvTable> {
  const parser = input.pipe(parse({ info: true, skip_empty_lines: true, trim: true, bom: true }));
  input.on('error', (err) => parser.destroy(err));
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<ParsedRecord>;
  const first = await next(records, options.source);
  if (first === undefined) throw inputError(options.source, 1, 'the file is empty (no header row)');
  const header = readHeader(first.record, options);
  return { header, rows: readRows(records, header, options.source) };
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

async function next(
  records: AsyncIterator<ParsedRecord>,
  source: string,
): Promise<ParsedRecord | undefined> {
  try {
    const result = await records.next();
    return result.done ? undefined : result.value;
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines ?? 0;
      throw inputError(source, line, err.message, err);
    }
    throw new VigilError('VIGIL_ERR_INPUT', `${source}: ${(err as Error).message}`, { cause: err });
  }
}

function readHeader(columns: string[], options: CsvTableOptions): CsvHeader {
  let timeIndex = -1;
  if (options.timeColumn !== undefined) {
    timeIndex = columns.indexOf(options.timeColumn);
    if (timeIndex < 0) {
      throw inputError(
        options.source,
        1,
        `no column named "${options.timeColumn}" (columns: ${columns.join(', ')})`,
      );
    }
  } else {
    const lower = columns.map((c) => c.toLowerCase());
    for (const name of TIME_COLUMN_NAMES) {
      timeIndex = lower.indexOf(name);
      if (timeIndex >= 0) break;
    }
  }
  const valueIndexes = columns.map((_, i) => i).filter((i) => i !== timeIndex);
  if (valueIndexes.length === 0) {
    throw inputError(options.source, 1, 'no value columns besides the time column');
  }
  return {
    columns,
    timeIndex,
    valueIndexes,
    valueNames: valueIndexes.map((i) => columns[i]!),
  };
}

async function* readRows(
  records: AsyncIterator<ParsedRecord>,
  header: CsvHeader,
  source: string,
): AsyncGenerator<CsvRow> {
  const values = new Float64Array(header.valueIndexes.length);
  let previousTime = Number.NEGATIVE_INFINITY;
  let rowNumber = 0;
  for (;;) {
    const parsed = await next(records, source);
    if (parsed === undefined) return;
    const { record: cells, info } = parsed;
    const line = info.lines;
    let timeMs = rowNumber * 1000;
    if (header.timeIndex >= 0) {
      const cell = cells[header.timeIndex] ?? '';
      timeMs = parseTimeCell(cell);
      if (Number.isNaN(timeMs)) {
        throw inputError(
          source,
          line,
          `column "${header.columns[header.timeIndex]}": cannot read "${cell}" as a time`,
        );
      }
      if (timeMs < previousTime) {
        throw inputError(source, line, `time goes backwards ("${cell}" is before the row above)`);
      }
    }
    for (let j = 0; j < header.valueIndexes.length; j++) {
      const cell = cells[header.valueIndexes[j]!]!;
      const value = cell === '' || cell === 'NaN' ? Number.NaN : Number(cell);
      if (!Number.isFinite(value) && cell !== '' && cell !== 'NaN') {
        // Infinity, or 1e400 read as Infinity, is no reading either.
        const why = Number.isNaN(value) ? 'is not a number' : 'is not a finite number';
        throw inputError(source, line, `column "${header.valueNames[j]}": "${cell}" ${why}`);
      }
      values[j] = value;
    }
    previousTime = timeMs;
    rowNumber++;
    yield { line, timeMs, values, cells };
  }
}

function inputError(source: string, line: number, what: string, cause?: unknown): VigilError {
  return new VigilError('VIGIL_ERR_INPUT', `${source}:${line}: ${what}`, { cause });
}
