/**
 * Line-protocol records → Vigil points (docs/integrations-influx-mqtt.md):
 * device from a tag (default `host`; the measurement when the tag is absent), metric
 * `<measurement>.<field>` (or just `<field>`), the other tags stay tags. Booleans become 1/0;
 * string fields are not numbers and are skipped (counted); a line left without a number is an
 * error of that line.
 */
import { setOwn } from '../../data/set-own.js';
import type { IngestPoint } from '../../engine/engine.js';
import { toMillis, type LineError, type LineRecord } from './line-protocol.js';

export interface InfluxMapping {
  /** Tag whose value is the device id; removed from the tags. Default `host`. */
  readonly deviceTag: string;
  /** `measurement.field` (default) or `field`. */
  readonly metricName: 'measurement.field' | 'field';
}

export const defaultInfluxMapping: InfluxMapping = {
  deviceTag: 'host',
  metricName: 'measurement.field',
};

export interface MappedPoints {
  readonly points: IngestPoint[];
  /** The body line of each point. */
  readonly lines: number[];
  readonly errors: LineError[];
  /** String fields skipped. */
  readonly stringFields: number;
}

export function recordsToPoints(
  records: readonly LineRecord[],
  options: { mapping: InfluxMapping; precision: string; receivedMs: number },
): MappedPoints {
  const { mapping, precision, receivedMs } = options;
  const points: IngestPoint[] = [];
  const lines: number[] = [];
  const errors: LineError[] = [];
  let stringFields = 0;
  for (const r of records) {
    const metrics: Record<string, number> = {};
    let numeric = 0;
    for (const [field, value] of r.fields) {
      if (value.kind === 'string') {
        stringFields++;
        continue;
      }
      const name = mapping.metricName === 'field' ? field : `${r.measurement}.${field}`;
      setOwn(metrics, name, value.kind === 'boolean' ? (value.value ? 1 : 0) : value.value);
      numeric++;
    }
    if (numeric === 0) {
      errors.push({
        line: r.line,
        what: 'fields',
        why: 'no numeric field (string fields are not scored)',
      });
      continue;
    }
    let device = r.measurement;
    const tags: Record<string, string> = {};
    for (const [key, value] of r.tags) {
      if (key === mapping.deviceTag) device = value;
      else setOwn(tags, key, value);
    }
    const timestamp = r.timestamp === undefined ? receivedMs : toMillis(r.timestamp, precision);
    points.push({
      timestamp,
      device_id: device,
      metrics,
      ...(Object.keys(tags).length > 0 ? { tags } : {}),
    });
    lines.push(r.line);
  }
  return { points, lines, errors, stringFields };
}
