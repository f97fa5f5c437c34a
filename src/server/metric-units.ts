/**
 * Units of metrics: what an operator declared (`PUT /v1/units/:metric` or the config file's
 * `units:`, stored by sql-metric-units.ts), else what the data said (Prometheus remote-write
 * metadata) or the name implies by the Prometheus naming convention (`*_seconds` → s,
 * `*_celsius` → °C, …). Checked here so a bad unit gets a clear 400 or VIGIL_ERR_CONFIG.
 */
import { VigilError } from '../errors.js';
import type { MetricUnit, SeriesInfo } from '../store/store.js';

export const MAX_UNIT_LENGTH = 32;
export const MAX_UNIT_DESCRIPTION_LENGTH = 500;

/** Base-unit suffixes of Prometheus metric names (prometheus.io/docs/practices/naming). */
const SUFFIX_UNITS: readonly (readonly [string, string])[] = [
  ['_seconds', 's'],
  ['_milliseconds', 'ms'],
  ['_bytes', 'B'],
  ['_celsius', '°C'],
  ['_ratio', 'ratio'],
  ['_percent', '%'],
  ['_volts', 'V'],
  ['_amperes', 'A'],
  ['_watts', 'W'],
  ['_joules', 'J'],
  ['_hertz', 'Hz'],
  ['_meters', 'm'],
  ['_grams', 'g'],
  ['_pascals', 'Pa'],
];

/** The symbol of an OpenMetrics base-unit word (`seconds` → s, `celsius` → °C), else the word. */
export function unitSymbol(word: string): string {
  const suffix = `_${word.toLowerCase()}`;
  return SUFFIX_UNITS.find(([s]) => s === suffix)?.[1] ?? word;
}

/** The unit a metric's name implies, or null. Counters (`_total`) count their base unit. */
export function inferUnit(metric: string): string | null {
  const name = metric.toLowerCase();
  const base = name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
  for (const [suffix, unit] of SUFFIX_UNITS) if (base.endsWith(suffix)) return unit;
  return base === name ? null : 'count';
}

export interface ResolvedUnit {
  readonly unit: string;
  readonly source: 'declared' | 'inferred';
}

/**
 * The metric's name without the labels remote-write keeps in it (`temp{sensor="a"}` → `temp`),
 * so a unit declared for a Prometheus metric covers all of its series.
 */
export function baseMetric(metric: string): string {
  const brace = metric.indexOf('{');
  return brace > 0 && metric.endsWith('}') ? metric.slice(0, brace) : metric;
}

/**
 * The declared unit of a metric (API or config file), else the one stored from its metadata,
 * else the one its name implies, else null; the exact name first, then its base name.
 */
export function resolveUnit(
  metric: string,
  declared: ReadonlyMap<string, MetricUnit>,
): ResolvedUnit | null {
  const base = baseMetric(metric);
  const own = declared.get(metric) ?? (base === metric ? undefined : declared.get(base));
  if (own !== undefined) {
    return { unit: own.unit, source: own.source === 'metadata' ? 'inferred' : 'declared' };
  }
  const inferred = inferUnit(base);
  return inferred === null ? null : { unit: inferred, source: 'inferred' };
}

/** Series as the API lists them, each with its unit (null when none is known). */
export function withUnits(
  series: readonly SeriesInfo[],
  declared: ReadonlyMap<string, MetricUnit>,
): (SeriesInfo & { unit: string | null; unit_source?: 'declared' | 'inferred' })[] {
  return series.map((s) => {
    const r = resolveUnit(s.metric, declared);
    return r === null ? { ...s, unit: null } : { ...s, unit: r.unit, unit_source: r.source };
  });
}

const CONTROL = /\p{Cc}/u;

/** A unit or description as text: trimmed, not empty, at most `max` characters, no controls. */
export function unitText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string') {
    throw new VigilError('VIGIL_ERR_INPUT', `${field} must be a string, found ${typeof value}`);
  }
  const s = value.trim();
  if (s.length === 0) throw new VigilError('VIGIL_ERR_INPUT', `${field} must not be empty`);
  if ([...s].length > max) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${field} is ${[...s].length} characters long, the limit is ${max}`,
    );
  }
  if (CONTROL.test(s)) {
    const at = [...s].findIndex((c) => CONTROL.test(c));
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${field} contains a control character at position ${at + 1}`,
    );
  }
  return s;
}

/** Check a `PUT /v1/units/:metric` body `{unit, description?}`; errors name the field. */
export function parseUnitBody(body: unknown): { unit: string; description: string | null } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new VigilError('VIGIL_ERR_INPUT', 'body must be an object {"unit": "…"}');
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== 'unit' && key !== 'description') {
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `unknown field ${JSON.stringify(key)}: the body takes unit and description`,
      );
    }
  }
  if (b.unit === undefined) throw new VigilError('VIGIL_ERR_INPUT', 'unit is required');
  return {
    unit: unitText('unit', b.unit, MAX_UNIT_LENGTH),
    description:
      b.description === undefined || b.description === null
        ? null
        : unitText('description', b.description, MAX_UNIT_DESCRIPTION_LENGTH),
  };
}

export function unitJson(u: MetricUnit) {
  return {
    metric: u.metric,
    unit: u.unit,
    description: u.description,
    source: u.source,
    updated_at: u.updatedAt,
  };
}
