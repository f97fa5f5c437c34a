/**
 * Per-point validation of ingest batches. Each bad point gets one error naming the field and the
 * reason; the other points of the batch go on. Everything accepted here is exactly storable by
 * PGlite and PostgreSQL (names and tags without NUL, lone UTF-16 surrogates or a leading byte
 * order mark, at most 200 characters), so a spooled point can never be refused later, which would block the spool
 * (docs/engine.md, "Validation"; src/engine/storability.test.ts checks it on both backends).
 */
import { quoteInput } from '../data/quote.js';
import type { IngestPoint, PointError } from './engine.js';

export interface Limits {
  /** Most metrics in one point. */
  readonly maxMetrics: number;
  /** Longest device id, metric name, tag key or tag value. */
  readonly maxNameLength: number;
  /** Accepted timestamps (ms since the epoch): minTime ≤ t < maxTime. */
  readonly minTime: number;
  readonly maxTime: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMetrics: 1000,
  maxNameLength: 200,
  minTime: 0,
  // 2100-01-01: anything later is a unit mistake (µs or ns), not a reading.
  maxTime: Date.UTC(2100, 0, 1),
};

/** A point after validation: the same fields, with tags only when there are any. */
export interface ValidPoint {
  readonly timestamp: number;
  readonly device_id: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * Why a string cannot be stored as it is: PostgreSQL text and jsonb hold no NUL, a lone
 * surrogate has no UTF-8 form (jsonb refuses its `\uD800` escape, and the whole commit fails),
 * and a leading byte order mark does not read back from PGlite.
 */
function textProblem(value: string, limits: Limits): string | undefined {
  if (value.length > limits.maxNameLength) {
    return `is longer than ${limits.maxNameLength} characters`;
  }
  if (value.includes('\0')) return 'contains a NUL character';
  if (!value.isWellFormed()) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  // PGlite decodes each text field with a TextDecoder, which drops a leading BOM on reading.
  if (value.charCodeAt(0) === 0xfeff) return 'starts with U+FEFF (a byte order mark)';
  return undefined;
}

function nameProblem(value: unknown, limits: Limits): string | undefined {
  if (typeof value !== 'string') return `must be a string, found ${typeof value}`;
  if (value.length === 0) return 'must not be empty';
  return textProblem(value, limits);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(index: number, message: string): PointError {
  return { index, code: 'VIGIL_ERR_INPUT', message };
}

/**
 * A point's error as a path into the request, `points[3].metrics.temp: reason`, the form every
 * error of a request that is refused whole (gRPC Detect) takes, whichever layer finds it.
 */
export function pointErrorPath(index: number, message: string): string {
  return /^(?:timestamp|device_id|metrics|tags)[.:]/.test(message)
    ? `points[${index}].${message}`
    : `points[${index}]: ${message}`;
}

/** Check one point: undefined when it is fine, else the error. */
export function checkPoint(point: unknown, index: number, limits: Limits): PointError | undefined {
  if (!isRecord(point)) return fail(index, 'point must be an object');
  const ts = point['timestamp'];
  if (typeof ts !== 'number' || !Number.isInteger(ts)) {
    const found =
      typeof ts === 'string'
        ? quoteInput(ts)
        : typeof ts === 'object' && ts !== null
          ? Array.isArray(ts)
            ? 'an array'
            : 'an object'
          : String(ts);
    return fail(index, `timestamp: must be an integer number of ms, found ${found}`);
  }
  if (ts < limits.minTime || ts >= limits.maxTime) {
    return fail(
      index,
      `timestamp: ${ts} is outside [${limits.minTime}, ${limits.maxTime}) (ms since the epoch)`,
    );
  }
  const device = nameProblem(point['device_id'], limits);
  if (device !== undefined) return fail(index, `device_id: ${device}`);
  const metrics = point['metrics'];
  if (!isRecord(metrics)) return fail(index, 'metrics: must be an object of name → number');
  const names = Object.keys(metrics);
  if (names.length === 0) return fail(index, 'metrics: at least one metric is needed');
  if (names.length > limits.maxMetrics) {
    return fail(index, `metrics: ${names.length} metrics, at most ${limits.maxMetrics}`);
  }
  for (const name of names) {
    const problem = nameProblem(name, limits);
    if (problem !== undefined) return fail(index, `metrics: name ${quoteInput(name)} ${problem}`);
    const value = metrics[name];
    if (typeof value !== 'number') {
      return fail(index, `metrics.${name}: must be a number, found ${typeof value}`);
    }
    if (!Number.isFinite(value)) {
      return fail(index, `metrics.${name}: ${String(value)} is not a finite number`);
    }
  }
  const tags = point['tags'];
  if (tags !== undefined && tags !== null) {
    if (!isRecord(tags)) return fail(index, 'tags: must be an object of name → string');
    for (const [key, value] of Object.entries(tags)) {
      const keyProblem = nameProblem(key, limits);
      if (keyProblem !== undefined)
        return fail(index, `tags: name ${quoteInput(key)} ${keyProblem}`);
      if (typeof value !== 'string') return fail(index, `tags.${key}: must be a string`);
      const valueProblem = textProblem(value, limits);
      if (valueProblem !== undefined) {
        return fail(index, `tags.${key}: value ${quoteInput(value)} ${valueProblem}`);
      }
    }
  }
  return undefined;
}

/** Split a batch into valid points (copied, so later changes by the caller do not matter) and errors. */
export function validateBatch(
  points: readonly IngestPoint[],
  limits: Limits,
): { valid: ValidPoint[]; errors: PointError[] } {
  const valid: ValidPoint[] = [];
  const errors: PointError[] = [];
  for (let i = 0; i < points.length; i++) {
    const point = points[i];
    const error = checkPoint(point, i, limits);
    if (error !== undefined) {
      errors.push(error);
      continue;
    }
    const p = point as IngestPoint;
    const tags = p.tags;
    const copy: ValidPoint =
      tags !== undefined && tags !== null && Object.keys(tags).length > 0
        ? {
            timestamp: p.timestamp,
            device_id: p.device_id,
            metrics: { ...p.metrics },
            tags: { ...tags },
          }
        : { timestamp: p.timestamp, device_id: p.device_id, metrics: { ...p.metrics } };
    valid.push(copy);
  }
  return { valid, errors };
}
