/**
 * "Every accepted point is storable", checked in-process, per case, fast enough for a million
 * cases: each point the engine's validation accepts is checked again, independently of
 * validate.ts, against what PostgreSQL and PGlite can hold exactly (src/engine/storability.test.ts
 * proves those properties on both stores), and the batch is round-tripped through the spool's
 * COPY text, the very bytes the stores load.
 */
import type { ValidPoint } from '../engine/validate.js';
import { isDeepStrictEqual } from 'node:util';
import { spooledBatch } from '../engine/spool-record.js';
import { decodeRows, type DecodedRow } from '../store/copy-text.js';
import { TIME_END } from './random.js';

const MAX_NAME = 200;
const MAX_METRICS = 1000;

/** Why `text` cannot be stored exactly (undefined when it can). */
function textProblem(text: unknown, what: string, mayBeEmpty: boolean): string | undefined {
  if (typeof text !== 'string') return `${what} is a ${typeof text}, not a string`;
  if (text.length === 0 && !mayBeEmpty) return `${what} is empty`;
  if (text.length > MAX_NAME) return `${what} has ${text.length} characters`;
  if (text.includes('\0')) return `${what} holds NUL`;
  if (!text.isWellFormed()) return `${what} holds a lone surrogate`;
  if (text.charCodeAt(0) === 0xfeff) return `${what} starts with a byte order mark`;
  return undefined;
}

/** Why an accepted point could not be stored exactly, or undefined. */
export function pointProblem(p: ValidPoint): string | undefined {
  const t = p.timestamp;
  if (!Number.isSafeInteger(t) || t < 0 || t >= TIME_END) return `timestamp ${t} is out of range`;
  const device = textProblem(p.device_id, 'device_id', false);
  if (device !== undefined) return device;
  const names = Object.keys(p.metrics);
  if (names.length === 0 || names.length > MAX_METRICS) return `${names.length} metrics`;
  for (const name of names) {
    const problem = textProblem(name, 'metric name', false);
    if (problem !== undefined) return problem;
    const value = p.metrics[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return `metric value ${String(value)} is not a finite number`;
    }
  }
  for (const [key, value] of Object.entries(p.tags ?? {})) {
    const problem = textProblem(key, 'tag key', false) ?? textProblem(value, 'tag value', true);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Why the batch's rows do not come back exactly from the spool's COPY text (the rows the stores
 * load, store/copy-text.ts), or undefined.
 */
export function spoolProblem(points: ValidPoint[]): string | undefined {
  if (points.length === 0) return undefined;
  let rows: DecodedRow[];
  try {
    rows = decodeRows(spooledBatch(points).rows.text);
  } catch (error) {
    return `spool text does not read back: ${error instanceof Error ? error.message : String(error)}`;
  }
  let i = 0;
  for (const p of points) {
    for (const metric of Object.keys(p.metrics)) {
      const row = rows[i++];
      if (row === undefined) return `fewer rows read back than spooled`;
      const tags = row.tags === undefined ? undefined : (JSON.parse(row.tags) as unknown);
      const same =
        row.device === p.device_id &&
        row.metric === metric &&
        row.time === p.timestamp &&
        Object.is(row.value, p.metrics[metric]) &&
        isDeepStrictEqual(tags ?? {}, p.tags ?? {});
      if (!same) {
        return `row ${i - 1} changed in the spool: ${JSON.stringify([p.device_id, metric, p.timestamp, p.metrics[metric], p.tags])} → ${JSON.stringify(row)}`;
      }
    }
  }
  return i === rows.length ? undefined : `${i} rows spooled, ${rows.length} read back`;
}
