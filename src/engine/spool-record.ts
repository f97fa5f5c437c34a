/**
 * What the spool holds for one accepted batch: its points as COPY text rows, the exact text the
 * store later loads, encoded once at ingest for both (docs/engine.md, "Durability and crashes").
 * Reading a spool back turns the rows into points again for scoring.
 */
import {
  decodeRows,
  encodeRows,
  SeriesExtents,
  type DecodedRow,
  type EncodedRows,
} from '../store/copy-text.js';
import { setOwn } from '../data/set-own.js';
import type { PointError } from './engine.js';
import { validateBatch, type Limits, type ValidPoint } from './validate.js';

export interface SpooledBatch {
  readonly points: ValidPoint[];
  readonly rows: EncodedRows;
}

/** Valid points → their store rows, one per metric, in point order. */
export function spooledBatch(points: ValidPoint[]): SpooledBatch {
  const devices: string[] = [];
  const metrics: string[] = [];
  const times: number[] = [];
  const values: number[] = [];
  const tags: (Readonly<Record<string, string>> | undefined)[] = [];
  for (const p of points) {
    for (const metric in p.metrics) {
      devices.push(p.device_id);
      metrics.push(metric);
      times.push(p.timestamp);
      values.push(p.metrics[metric] as number);
      tags.push(p.tags);
    }
  }
  return { points, rows: encodeRows({ devices, metrics, times, values, tags }) };
}

const samePoint = (a: DecodedRow, b: DecodedRow): boolean =>
  a.device === b.device && a.time === b.time && a.tags === b.tags;

/**
 * Rows written by `spooledBatch` → the batch again. A point's rows are consecutive, so
 * consecutive rows of one device, time and tags are one point.
 * @throws Error when the text is not such rows.
 */
export function readSpooledBatch(text: string): SpooledBatch {
  const decoded = decodeRows(text);
  const points: ValidPoint[] = [];
  const extents = new SeriesExtents();
  let metrics: Record<string, number> = {};
  let tags: Record<string, string> | undefined;
  let previous: DecodedRow | undefined;
  for (const row of decoded) {
    if (previous === undefined || !samePoint(previous, row)) {
      metrics = {};
      // One object per point, as spooledBatch had: the catalogue's tags merge once per point.
      tags = row.tags === undefined ? undefined : (JSON.parse(row.tags) as Record<string, string>);
      points.push(
        tags === undefined
          ? { timestamp: row.time, device_id: row.device, metrics }
          : { timestamp: row.time, device_id: row.device, metrics, tags },
      );
    }
    extents.add(row.device, row.metric, row.time, tags);
    setOwn(metrics, row.metric, row.value);
    previous = row;
  }
  return { points, rows: { text, rows: decoded.length, extents } };
}

/**
 * A batch read back from the spool, checked again with today's validation: an older version may
 * have spooled points the store cannot hold (a lone surrogate in a tag), and feeding them back
 * as they are would halt the store writer again after every restart. The batch keeps the points
 * that pass, re-encoded; undefined when none does.
 */
export function revalidated(
  batch: SpooledBatch,
  limits: Limits,
): { batch: SpooledBatch | undefined; refused: PointError[] } {
  const { valid, errors } = validateBatch(batch.points, limits);
  if (errors.length === 0) return { batch, refused: errors };
  return { batch: valid.length === 0 ? undefined : spooledBatch(valid), refused: errors };
}
