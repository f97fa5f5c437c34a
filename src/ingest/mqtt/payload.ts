/**
 * MQTT payloads → readings, in the `json`, `compact` or `auto` format
 * (docs/integrations-influx-mqtt.md). Timestamps are ms since the epoch or ISO 8601; absent means
 * the receive time. Never throws: a bad payload is a reason string.
 */
import { quoteInput } from '../../data/quote.js';
import { invalidUtf8At } from '../utf8.js';
import { setOwn } from '../../data/set-own.js';
import { VigilError } from '../../errors.js';
import { MAX_UNIT_LENGTH, unitSymbol, unitText } from '../../server/metric-units.js';

export type PayloadFormat = 'json' | 'compact' | 'auto';

export interface Reading {
  readonly timestamp: number | undefined;
  readonly device_id: string | undefined;
  readonly metrics: Record<string, number>;
  readonly tags: Record<string, string> | undefined;
  /** Units the payload declares for its metrics (`"units": {"temp": "°C"}`), if any. */
  readonly units?: Record<string, string>;
}

/** Most readings in one payload (an array, or compact lines). */
export const MAX_READINGS = 1000;

/** Most metrics in one payload, over all its readings: 10 per reading at MAX_READINGS. */
export const MAX_METRICS = 10_000;

/** Longest metric name (the engine's limit for names). */
export const MAX_NAME_LENGTH = 200;

/** A key as a field path shows it: bare when short, else quoted and cut. */
function key(name: string): string {
  return name.length <= 60 ? name : quoteInput(name, 60);
}

function badName(name: string): string | undefined {
  return name.length > MAX_NAME_LENGTH
    ? `metric name ${quoteInput(name, 60)} is longer than ${MAX_NAME_LENGTH} characters`
    : undefined;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function timestampOf(value: unknown, where: string): number | undefined | string {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${where}: not a finite number`;
    return value;
  }
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) return `${where}: ${quoteInput(value, 40)} is not ISO 8601`;
    return ms;
  }
  return `${where}: expected ms since the epoch or ISO 8601, found ${kind(value)}`;
}

/**
 * A JSON reading's `units` object: metric name → unit (as `PUT /v1/units` checks it, base-unit
 * words as symbols). A unit for a metric the reading does not carry is an error too: it is
 * most likely a misspelt name.
 */
function unitsOf(
  value: unknown,
  metrics: Record<string, number>,
  where: string,
): Record<string, string> | string {
  if (!isRecord(value)) return `${where}units: expected an object, found ${kind(value)}`;
  const units: Record<string, string> = {};
  for (const [name, unit] of Object.entries(value)) {
    const field = `${where}units.${key(name)}`;
    if (!Object.hasOwn(metrics, name)) return `${field}: no metric ${key(name)} in this reading`;
    try {
      setOwn(units, name, unitSymbol(unitText(field, unit, MAX_UNIT_LENGTH)));
    } catch (error) {
      if (error instanceof VigilError) return error.message;
      throw error;
    }
  }
  return units;
}

/** The reading with its units, or why they cannot be read. */
function withUnits(reading: Reading, units: unknown, where: string): Reading | string {
  if (units === undefined || units === null) return reading;
  const read = unitsOf(units, reading.metrics, where);
  return typeof read === 'string' ? read : { ...reading, units: read };
}

function jsonReading(value: unknown, where: string, timestampField: string): Reading | string {
  // `where` prefixes field paths (`[3].`); whole-item problems name the item.
  const item = where === '' ? 'payload' : where.slice(0, -1);
  if (!isRecord(value)) return `${item}: expected an object, found ${kind(value)}`;
  if (isRecord(value.metrics)) {
    // DataPoint-shaped, as POST /v1/points takes it.
    const metrics: Record<string, number> = {};
    for (const [name, v] of Object.entries(value.metrics)) {
      if (typeof v !== 'number')
        return `${where}metrics.${key(name)}: expected a number, found ${kind(v)}`;
      const bad = badName(name);
      if (bad !== undefined) return `${where}metrics: ${bad}`;
      setOwn(metrics, name, v);
    }
    const ts = timestampOf(value.timestamp, `${where}timestamp`);
    if (typeof ts === 'string') return ts;
    const device = value.device_id;
    if (device !== undefined && typeof device !== 'string') {
      return `${where}device_id: expected a string, found ${kind(device)}`;
    }
    let tags: Record<string, string> | undefined;
    if (value.tags !== undefined && value.tags !== null) {
      if (!isRecord(value.tags))
        return `${where}tags: expected an object, found ${kind(value.tags)}`;
      tags = {};
      for (const [k, v] of Object.entries(value.tags)) {
        if (typeof v !== 'string') {
          return `${where}tags.${key(k)}: expected a string, found ${kind(v)}`;
        }
        setOwn(tags, k, v);
      }
    }
    return withUnits({ timestamp: ts, device_id: device, metrics, tags }, value.units, where);
  }
  // Flat: numbers are metrics; an object under `units` names their units.
  const metrics: Record<string, number> = {};
  let timestamp: number | undefined;
  let device: string | undefined;
  let units: unknown;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'units' && isRecord(v)) {
      units = v;
    } else if (key === timestampField) {
      const ts = timestampOf(v, `${where}${key}`);
      if (typeof ts === 'string') return ts;
      timestamp = ts;
    } else if (key === 'device_id' && typeof v === 'string') {
      device = v;
    } else if (typeof v === 'number' || typeof v === 'boolean') {
      const bad = badName(key);
      if (bad !== undefined) return `${item}: ${bad}`;
      setOwn(metrics, key, typeof v === 'number' ? v : v ? 1 : 0);
    }
  }
  if (Object.keys(metrics).length === 0) return `${item}: no numeric value to score`;
  return withUnits({ timestamp, device_id: device, metrics, tags: undefined }, units, where);
}

function parseJson(text: string, timestampField: string): Reading[] | string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  const items = Array.isArray(document) ? document : [document];
  if (items.length === 0) return 'empty array';
  if (items.length > MAX_READINGS) return `${items.length} readings, at most ${MAX_READINGS}`;
  const readings: Reading[] = [];
  let metrics = 0;
  for (let i = 0; i < items.length; i++) {
    const reading = jsonReading(items[i], Array.isArray(document) ? `[${i}].` : '', timestampField);
    if (typeof reading === 'string') return reading;
    metrics += Object.keys(reading.metrics).length;
    if (metrics > MAX_METRICS) return `more than ${MAX_METRICS} metrics in one payload`;
    readings.push(reading);
  }
  return readings;
}

const EQUALS = 0x3d;
const COMMA = 0x2c;
const MINUS = 0x2d;

/**
 * The common payload, one line of `name=number,…[@ms]` without whitespace, read in one pass
 * without splitting. Anything else (several lines, spaces, anything the general reader would
 * refuse) is undefined, and `parseCompact` reads it and words the error: for every text this
 * gives either undefined or exactly what `parseCompact` gives (payload.test.ts checks).
 */
export function parseCompactLine(text: string): Reading[] | undefined {
  const at = text.lastIndexOf('@');
  const end = at === -1 ? text.length : at;
  let timestamp: number | undefined;
  if (at !== -1) {
    let k = at + 1;
    if (text.charCodeAt(k) === MINUS) k++;
    if (k >= text.length) return undefined;
    for (; k < text.length; k++) {
      const c = text.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return undefined;
    }
    timestamp = Number(text.slice(at + 1));
  }
  const metrics: Record<string, number> = {};
  let count = 0;
  for (let start = 0; ;) {
    let eq = -1;
    let stop = start;
    for (; stop < end; stop++) {
      const c = text.charCodeAt(stop);
      if (c === COMMA) break;
      // Whitespace, controls, anything not ASCII (trim() strips U+00A0 and the like): the
      // general reader decides.
      if (c <= 0x20 || c >= 0x7f) return undefined;
      if (c === EQUALS && eq === -1) eq = stop;
    }
    if (eq <= start || eq - start > MAX_NAME_LENGTH) return undefined;
    const raw = text.slice(eq + 1, stop);
    if (!NUMBER.test(raw) || ++count > MAX_METRICS) return undefined;
    setOwn(metrics, text.slice(start, eq), Number(raw));
    if (stop >= end) break;
    start = stop + 1;
  }
  return [{ timestamp, device_id: undefined, metrics, tags: undefined }];
}

/** Compact payloads in general: lines, spaces, and the error messages. */
export function parseCompact(text: string): Reading[] | string {
  const lines = text.split('\n').map((l) => l.trim());
  const readings: Reading[] = [];
  let count = 0;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line === '') continue;
    const where = lines.length > 1 ? `line ${n + 1}: ` : '';
    const at = line.lastIndexOf('@');
    const body = at === -1 ? line : line.slice(0, at);
    let timestamp: number | undefined;
    if (at !== -1) {
      const raw = line.slice(at + 1).trim();
      if (!/^-?\d+$/.test(raw))
        return `${where}timestamp ${quoteInput(raw, 30)}: expected integer ms`;
      timestamp = Number(raw);
    }
    const metrics: Record<string, number> = {};
    for (const pair of body.split(',')) {
      const eq = pair.indexOf('=');
      const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
      const raw = eq === -1 ? '' : pair.slice(eq + 1).trim();
      if (name === '') return `${where}${quoteInput(pair, 30)}: missing metric name`;
      if (eq === -1) return `${where}${quoteInput(name, 30)}: expected metric=value`;
      const bad = badName(name);
      if (bad !== undefined) return `${where}${bad}`;
      if (!NUMBER.test(raw)) {
        return `${where}${key(name)}: ${quoteInput(raw, 30)} is not a number`;
      }
      if (++count > MAX_METRICS) return `more than ${MAX_METRICS} metrics in one payload`;
      setOwn(metrics, name, Number(raw));
    }
    readings.push({ timestamp, device_id: undefined, metrics, tags: undefined });
    if (readings.length > MAX_READINGS) return `more than ${MAX_READINGS} readings`;
  }
  if (readings.length === 0) return 'empty payload';
  return readings;
}

/** The readings of one payload, or why it cannot be read. */
export function parsePayload(
  payload: Buffer,
  format: PayloadFormat,
  timestampField = 'timestamp',
): Reading[] | string {
  // A bad byte is refused, never replaced with U+FFFD (src/ingest/utf8.ts).
  const at = invalidUtf8At(payload);
  if (at !== -1) return `payload is not valid UTF-8 at byte ${at}`;
  const text = payload.toString('utf8').trim();
  if (text === '') return 'empty payload';
  const json = format === 'json' || (format === 'auto' && (text[0] === '{' || text[0] === '['));
  return json ? parseJson(text, timestampField) : (parseCompactLine(text) ?? parseCompact(text));
}
