/**
 * Prometheus series → Vigil points (docs/integrations-prometheus.md, "Mapping"): labels split
 * into device, metric, tags, dropped, and the rest kept in the metric name, so distinct series
 * stay distinct; one point per device, timestamp and tags. Stale markers and non-finite values
 * are skipped, not errors (Prometheus sends them routinely).
 */
import { quoteInput } from '../../data/quote.js';
import type { IngestPoint, PointError } from '../../engine/engine.js';
import type { Label, WriteRequest } from './decode.js';

export interface LabelMapping {
  /** The label holding the device id. */
  readonly deviceLabel: string;
  /** Device id for series without `deviceLabel`. */
  readonly defaultDevice: string;
  /** The label holding the metric name. */
  readonly metricLabel: string;
  /** Labels copied into the point's tags. */
  readonly tagLabels: readonly string[];
  /** Labels ignored altogether. */
  readonly dropLabels: readonly string[];
  /** What happens to the other labels: kept in the metric name, or dropped. */
  readonly otherLabels: 'metric_suffix' | 'drop';
  /** Most metrics in one point; a larger group is split into several points. */
  readonly metricsPerPoint: number;
  /** Longest device id, metric name, tag name or value (the engine's limit). */
  readonly maxNameLength: number;
}

export const defaultLabelMapping: LabelMapping = {
  deviceLabel: 'instance',
  defaultDevice: 'prometheus',
  metricLabel: '__name__',
  tagLabels: ['job'],
  dropLabels: [],
  otherLabels: 'metric_suffix',
  metricsPerPoint: 500,
  maxNameLength: 200,
};

/** Why a sample was not turned into a point value. */
export type SkipReason = 'stale' | 'non_finite' | 'duplicate';

/** A sample refused for its series (no metric name, a name too long): a 400 for the request. */
export interface SeriesError {
  /** The series in Prometheus notation, cut to 120 characters. */
  readonly series: string;
  readonly message: string;
  readonly samples: number;
}

export interface MappedRequest {
  readonly points: IngestPoint[];
  /** Samples carried by each point (same order), to count accepted/rejected samples. */
  readonly samplesPerPoint: number[];
  readonly skipped: Record<SkipReason, number>;
  readonly errors: SeriesError[];
  readonly samples: number;
}

/** Prometheus' stale marker: a NaN with this exact bit pattern (model/value/value.go). */
const STALE_NAN_BITS = 0x7ff0000000000002n;
const bits = new DataView(new ArrayBuffer(8));

/** A stale marker as a JS number (for tests and tools). */
export function staleMarker(): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, STALE_NAN_BITS);
  return view.getFloat64(0);
}

export function isStaleMarker(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  bits.setFloat64(0, value);
  return bits.getBigUint64(0) === STALE_NAN_BITS;
}

/** The Prometheus text form `name{a="x",b="y"}` of a label set (label values quoted as JSON). */
export function seriesNotation(name: string, labels: readonly Label[]): string {
  if (labels.length === 0) return name;
  const sorted = [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${name}{${sorted.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',')}}`;
}

function tooLong(value: string, limit: number): boolean {
  return value.length > limit || value.includes('\0');
}

interface SeriesTarget {
  readonly device: string;
  readonly metric: string;
  readonly tags: Record<string, string> | undefined;
  readonly tagsKey: string;
}

/** Where one series' samples go, or why they cannot go anywhere. */
function target(labels: readonly Label[], mapping: LabelMapping): SeriesTarget | string {
  let device: string | undefined;
  let metric: string | undefined;
  const tags: Record<string, string> = {};
  const rest: Label[] = [];
  for (const label of labels) {
    if (label.name === mapping.deviceLabel) device = label.value;
    else if (label.name === mapping.metricLabel) metric = label.value;
    else if (mapping.dropLabels.includes(label.name)) continue;
    else if (mapping.tagLabels.includes(label.name)) tags[label.name] = label.value;
    else if (mapping.otherLabels === 'metric_suffix') rest.push(label);
  }
  if (metric === undefined || metric === '') {
    return `no ${mapping.metricLabel} label: cannot name the metric`;
  }
  const name = seriesNotation(metric, rest);
  if (tooLong(name, mapping.maxNameLength)) {
    return `metric name ${quoteInput(name)} is longer than ${mapping.maxNameLength} characters (or contains NUL): drop labels with remote_write.drop_labels or write_relabel_configs`;
  }
  const deviceId = device === undefined || device === '' ? mapping.defaultDevice : device;
  if (tooLong(deviceId, mapping.maxNameLength)) {
    return `device ${quoteInput(deviceId)} is longer than ${mapping.maxNameLength} characters (or contains NUL)`;
  }
  for (const [key, value] of Object.entries(tags)) {
    if (tooLong(value, mapping.maxNameLength)) {
      return `tag ${quoteInput(key)} is longer than ${mapping.maxNameLength} characters (or contains NUL)`;
    }
  }
  const keys = Object.keys(tags).sort();
  return {
    device: deviceId,
    metric: name,
    tags: keys.length > 0 ? tags : undefined,
    tagsKey: keys.map((k) => `${k}=${JSON.stringify(tags[k])}`).join(','),
  };
}

interface Group {
  readonly device: string;
  readonly timestamp: number;
  readonly tags: Record<string, string> | undefined;
  readonly metrics: Map<string, number>;
}

/** Map a decoded request to points, grouped by device, timestamp and tags. */
export function mapWriteRequest(request: WriteRequest, mapping: LabelMapping): MappedRequest {
  const groups = new Map<string, Group>();
  const skipped: Record<SkipReason, number> = { stale: 0, non_finite: 0, duplicate: 0 };
  const errors: SeriesError[] = [];
  let samples = 0;
  for (const series of request.timeseries) {
    samples += series.samples.length;
    if (series.samples.length === 0) continue;
    const where = target(series.labels, mapping);
    if (typeof where === 'string') {
      const name = series.labels.find((l) => l.name === '__name__')?.value ?? '';
      const others = series.labels.filter((l) => l.name !== '__name__');
      errors.push({
        series: seriesNotation(name, others).slice(0, 120),
        message: where,
        samples: series.samples.length,
      });
      continue;
    }
    for (const sample of series.samples) {
      if (!Number.isFinite(sample.value)) {
        skipped[isStaleMarker(sample.value) ? 'stale' : 'non_finite']++;
        continue;
      }
      const key = `${where.device}\u0000${sample.timestamp}\u0000${where.tagsKey}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = {
          device: where.device,
          timestamp: sample.timestamp,
          tags: where.tags,
          metrics: new Map(),
        };
        groups.set(key, group);
      }
      // Two series mapped onto one metric (labels dropped): the first value wins, as on re-send.
      if (group.metrics.has(where.metric)) skipped.duplicate++;
      else group.metrics.set(where.metric, sample.value);
    }
  }
  const points: IngestPoint[] = [];
  const samplesPerPoint: number[] = [];
  for (const group of groups.values()) {
    const entries = [...group.metrics];
    for (let i = 0; i < entries.length; i += mapping.metricsPerPoint) {
      const chunk = entries.slice(i, i + mapping.metricsPerPoint);
      const point: IngestPoint = {
        timestamp: group.timestamp,
        device_id: group.device,
        metrics: Object.fromEntries(chunk),
        ...(group.tags === undefined ? {} : { tags: group.tags }),
      };
      points.push(point);
      samplesPerPoint.push(chunk.length);
    }
  }
  return { points, samplesPerPoint, skipped, errors, samples };
}

/** A short summary of per-point engine errors and series errors, for a 400 message. */
export function describeErrors(
  seriesErrors: readonly SeriesError[],
  pointErrors: readonly PointError[],
  points: readonly IngestPoint[],
): string {
  const lines = [
    ...seriesErrors.map((e) => `series ${e.series}: ${e.message}`),
    ...pointErrors.map((e) => {
      const p = points[e.index];
      return `point of device ${quoteInput(p?.device_id ?? '?')} at ${p?.timestamp ?? '?'}: ${e.message}`;
    }),
  ];
  const shown = lines.slice(0, 5);
  const more = lines.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}
