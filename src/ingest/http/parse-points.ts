/**
 * HTTP ingest bodies → candidate points. Only the *shape* is checked here (types of the proto's
 * fields); the engine validates the content (finite values, limits, label lengths). A line or
 * element of the wrong shape becomes an error for its index, and never costs the others.
 */
import type { IngestPoint, PointError } from '../../engine/engine.js';
import { findJsonFault, foundAt } from './json-error.js';

export interface ParsedBody {
  /** Well-shaped points, with their index in the request. */
  readonly points: IngestPoint[];
  readonly indices: number[];
  readonly errors: PointError[];
  /** Elements or lines in the request (points + errors). */
  readonly total: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The point, or why its shape is wrong (`field: reason`). */
export function shapePoint(value: unknown): IngestPoint | string {
  if (!isRecord(value)) return `point: expected an object, found ${describe(value)}`;
  const { timestamp, device_id: device, metrics, tags } = value;
  if (typeof timestamp !== 'number') {
    return `timestamp: expected a number (ms since the epoch), found ${describe(timestamp)}`;
  }
  if (typeof device !== 'string') {
    return `device_id: expected a string, found ${describe(device)}`;
  }
  if (!isRecord(metrics)) return `metrics: expected an object, found ${describe(metrics)}`;
  for (const [name, v] of Object.entries(metrics)) {
    if (typeof v !== 'number') return `metrics.${name}: expected a number, found ${describe(v)}`;
  }
  if (tags !== undefined && tags !== null) {
    if (!isRecord(tags)) return `tags: expected an object, found ${describe(tags)}`;
    for (const [name, v] of Object.entries(tags)) {
      if (typeof v !== 'string') return `tags.${name}: expected a string, found ${describe(v)}`;
    }
    return {
      timestamp,
      device_id: device,
      metrics: metrics as Record<string, number>,
      tags: tags as Record<string, string>,
    };
  }
  return { timestamp, device_id: device, metrics: metrics as Record<string, number> };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string ${JSON.stringify(value.slice(0, 40))}`;
  return `a ${typeof value}`;
}

function collect(items: Iterable<{ index: number; value: unknown } | PointError>): ParsedBody {
  const points: IngestPoint[] = [];
  const indices: number[] = [];
  const errors: PointError[] = [];
  let total = 0;
  for (const item of items) {
    total++;
    if ('code' in item) {
      errors.push(item);
      continue;
    }
    const shaped = shapePoint(item.value);
    if (typeof shaped === 'string') {
      errors.push({ index: item.index, code: 'VIGIL_ERR_INPUT', message: shaped });
    } else {
      points.push(shaped);
      indices.push(item.index);
    }
  }
  return { points, indices, errors, total };
}

/** A parsed JSON body: an array of points (a single object is taken as one point). */
export function parseJsonBody(body: unknown): ParsedBody {
  const array = Array.isArray(body) ? body : [body];
  return collect(array.map((value, index) => ({ index, value })));
}

/** NDJSON: one point per line; blank lines are skipped and take no index. */
export function parseNdjsonBody(text: string): ParsedBody {
  function* lines(): Generator<{ index: number; value: unknown } | PointError> {
    let index = 0;
    let lineNo = 0;
    for (const raw of text.split('\n')) {
      lineNo++;
      const line = raw.trim();
      if (line === '') continue;
      try {
        yield { index, value: JSON.parse(line) as unknown };
      } catch (err) {
        yield { index, code: 'VIGIL_ERR_INPUT', message: notJsonLine(raw, lineNo, err) };
      }
      index++;
    }
  }
  return collect(lines());
}

/** `line L, column C: not JSON: expected X, found Y` (column in characters of the raw line). */
function notJsonLine(raw: string, lineNo: number, err: unknown): string {
  const fault = findJsonFault(raw);
  if (fault === undefined) {
    return `line ${lineNo}: not JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  const found = foundAt(raw, fault.offset, 'the end of the line');
  return `line ${lineNo}, column ${fault.offset + 1}: not JSON: expected ${fault.expected}, found ${found}`;
}
