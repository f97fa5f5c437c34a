/**
 * Point batches → PostgreSQL COPY text, the bulk format both backends load fastest (PGlite from
 * a blob, a server from a COPY stream). Validation happens here, once, so a bad row is reported
 * with its index before anything reaches the database.
 */
import { VigilError } from '../errors.js';
import type { PointBatch, Tags } from './store.js';

/** Columns of the points table (and its staging twin), in COPY order. */
export const POINT_COLUMNS = ['device_id', 'metric', 'time', 'value', 'tags'] as const;

export const MAX_NAME_LENGTH = 200;

/** Rows per COPY chunk: big enough to amortise a round trip, small enough to stay cheap. */
const CHUNK_ROWS = 10_000;

// The span both JavaScript's Date and PostgreSQL's timestamptz can hold: from 4713-11-24 BC
// (PostgreSQL's first day) to 275760-09-13 (Date's last).
export const MIN_TIME = -210_866_803_200_000;
export const MAX_TIME = 8.64e15;

const SPECIAL = /[\\\t\n\r]/;

/** COPY text escaping: backslash, tab, newline and carriage return are the only specials. */
export function escapeCopy(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

const YEAR_1 = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const YEAR_10000 = 253_402_300_800_000; // 10000-01-01T00:00:00Z

/**
 * A time in ms as timestamptz input text. ISO 8601 for years 1–9999 (V8's toISOString is the
 * fastest formatter there is); outside them PostgreSQL wants a plain year and an era suffix,
 * where ISO year 0 is 1 BC and year −4713 is 4714 BC.
 */
export function timestampText(time: number): string {
  const iso = new Date(time).toISOString();
  if (time >= YEAR_1 && time < YEAR_10000) return iso;
  const year = new Date(time).getUTCFullYear();
  const rest = iso.slice(iso.indexOf('-', 1));
  return year > 0 ? `${year}${rest}` : `${String(1 - year).padStart(4, '0')}${rest} BC`;
}

/** First and last time of one series within the rows of a write, for the series catalogue. */
export interface SeriesExtent {
  readonly device: string;
  readonly metric: string;
  first: number;
  last: number;
  /** Tags of its rows merged (a later row's value wins), for the catalogue's tag filter. */
  tags?: Record<string, string>;
  /** The tags object merged last (rows of one point share one: merged once). */
  lastTags?: Tags;
}

/** The series extents of a write, merged across its batches. */
export class SeriesExtents {
  readonly #byDevice = new Map<string, Map<string, SeriesExtent>>();

  merge(other: SeriesExtents): void {
    for (const metrics of other.#byDevice.values()) {
      for (const e of metrics.values()) {
        this.add(e.device, e.metric, e.first);
        this.add(e.device, e.metric, e.last, e.tags);
      }
    }
  }

  add(device: string, metric: string, time: number, tags?: Tags): void {
    let metrics = this.#byDevice.get(device);
    if (metrics === undefined) this.#byDevice.set(device, (metrics = new Map()));
    let extent = metrics.get(metric);
    if (extent === undefined) {
      extent = { device, metric, first: time, last: time };
      metrics.set(metric, extent);
    } else if (time < extent.first) extent.first = time;
    else if (time > extent.last) extent.last = time;
    if (tags !== undefined && tags !== null && tags !== extent.lastTags) {
      extent.tags = { ...extent.tags, ...tags };
      extent.lastTags = tags;
    }
  }

  /** Sorted by device and metric, so concurrent writers lock catalogue rows in one order. */
  sorted(): SeriesExtent[] {
    const out: SeriesExtent[] = [];
    for (const metrics of this.#byDevice.values()) out.push(...metrics.values());
    return out.sort((a, b) =>
      a.device !== b.device ? (a.device < b.device ? -1 : 1) : a.metric < b.metric ? -1 : 1,
    );
  }
}

function invalid(row: number, problem: string): VigilError {
  return new VigilError('VIGIL_ERR_STORE_INVALID', `point batch row ${row}: ${problem}`);
}

function checkName(kind: string, name: unknown, row: number): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid(row, `${kind} must be a non-empty string`);
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw invalid(row, `${kind} is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (name.includes('\0')) throw invalid(row, `${kind} contains a NUL character`);
  return name;
}

function encodeTags(tags: Tags, row: number): string {
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== 'string' || key.includes('\0') || value.includes('\0')) {
      throw invalid(row, `tag ${JSON.stringify(key)} must be a string without NUL characters`);
    }
  }
  return escapeCopy(JSON.stringify(tags));
}

/**
 * Validate a batch and encode it as COPY text chunks of `POINT_COLUMNS`, adding its rows to
 * `extents`. Nothing is added when a row is bad.
 * @throws VIGIL_ERR_STORE_INVALID naming the first bad row.
 */
export function encodePoints(batch: PointBatch, extents: SeriesExtents): string[] {
  const { devices, metrics, times, values, tags } = batch;
  const n = times.length;
  if (devices.length !== n || metrics.length !== n || values.length !== n) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `point batch columns differ in length: devices ${devices.length}, metrics ${metrics.length}, ` +
        `times ${n}, values ${values.length}`,
    );
  }
  if (tags !== undefined && tags.length !== n) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `point batch tags has ${tags.length} rows, times ${n}`,
    );
  }
  // Device and metric names repeat across a batch: escape each distinct one once.
  const escaped = new Map<string, string>();
  const name = (kind: string, value: unknown, row: number): string => {
    const hit = escaped.get(value as string);
    if (hit !== undefined) return hit;
    const text = escapeCopy(checkName(kind, value, row));
    escaped.set(value as string, text);
    return text;
  };
  const chunks: string[] = [];
  let chunk = '';
  // Live batches are time slices across series: consecutive rows often share their time.
  let lastTime = NaN;
  let lastTimeText = '';
  for (let i = 0; i < n; i++) {
    const time = times[i] as number;
    if (!Number.isInteger(time) || time < MIN_TIME || time > MAX_TIME) {
      throw invalid(i, `time must be an integer number of ms since the epoch, found ${time}`);
    }
    if (time !== lastTime) {
      lastTime = time;
      lastTimeText = timestampText(time);
    }
    const value = values[i] as number;
    const t = tags?.[i];
    chunk +=
      name('device', devices[i], i) +
      '\t' +
      name('metric', metrics[i], i) +
      '\t' +
      lastTimeText +
      '\t' +
      // String(-0) is "0": keep the sign, so a stored value is exactly the value given.
      (Number.isFinite(value) ? (value === 0 && 1 / value < 0 ? '-0' : String(value)) : '\\N') +
      '\t' +
      (t === undefined || t === null ? '\\N' : encodeTags(t, i)) +
      '\n';
    if ((i + 1) % CHUNK_ROWS === 0) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  for (let i = 0; i < n; i++) {
    extents.add(devices[i] as string, metrics[i] as string, times[i]!, tags?.[i]);
  }
  return chunks;
}

/** Points encoded once as COPY text rows of `POINT_COLUMNS`, ready for any number of writes. */
export interface EncodedRows {
  /** One line per row, each ending in a newline. */
  readonly text: string;
  readonly rows: number;
  readonly extents: SeriesExtents;
}

/**
 * Validate and encode a batch as one block of COPY text.
 * @throws VIGIL_ERR_STORE_INVALID naming the first bad row.
 */
export function encodeRows(batch: PointBatch): EncodedRows {
  const extents = new SeriesExtents();
  const text = encodePoints(batch, extents).join('');
  return { text, rows: batch.times.length, extents };
}

const UNESCAPE = /\\([\\tnr])/g;

function unescapeCopy(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(UNESCAPE, (_, c: string) =>
    c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : '\\',
  );
}

const TIMESTAMP = /^(\d{4,6})(-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)( BC)?$/;

/** Inverse of `timestampText`. */
export function parseTimestampText(text: string): number {
  const m = TIMESTAMP.exec(text);
  if (m === null) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `not a timestamp written by Vigil: ${JSON.stringify(text)}`,
    );
  }
  const year = m[3] === undefined ? Number(m[1]) : 1 - Number(m[1]);
  const iso =
    year >= 0 && year <= 9999
      ? `${String(year).padStart(4, '0')}${m[2]}`
      : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}${m[2]}`;
  const time = Date.parse(iso);
  if (Number.isNaN(time)) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `not a valid timestamp: ${JSON.stringify(text)}`,
    );
  }
  return time;
}

/** One row of COPY text, decoded. */
export interface DecodedRow {
  readonly device: string;
  readonly metric: string;
  readonly time: number;
  /** NaN for NULL. */
  readonly value: number;
  /** The tags column as written (JSON text, or undefined for NULL). */
  readonly tags: string | undefined;
}

/**
 * Decode rows written by `encodeRows` (the inverse, for reading back a spool).
 * @throws VIGIL_ERR_STORE_INVALID naming the line that is not such a row.
 */
export function decodeRows(text: string): DecodedRow[] {
  const out: DecodedRow[] = [];
  let start = 0;
  let line = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const fields = text.slice(start, end).split('\t');
    line++;
    if (fields.length !== POINT_COLUMNS.length) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        `row ${line}: ${fields.length} columns, expected ${POINT_COLUMNS.length}`,
      );
    }
    const [device, metric, time, value, tags] = fields as [string, string, string, string, string];
    out.push({
      device: unescapeCopy(device),
      metric: unescapeCopy(metric),
      time: parseTimestampText(time),
      value: value === '\\N' ? Number.NaN : Number(value),
      tags: tags === '\\N' ? undefined : unescapeCopy(tags),
    });
    start = end + 1;
  }
  return out;
}
