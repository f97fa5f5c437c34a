/**
 * The `units:` section of `vigil serve`'s config file (docs/operations.md): metric name → unit,
 * or → `{unit, description}`, checked by the same rules as `PUT /v1/units/:metric` so a bad
 * entry is a VIGIL_ERR_CONFIG naming its key. Applied at every start (applyConfigUnits): the
 * config file wins over the API for the metrics it names, and over remote-write metadata.
 */
import { z } from 'zod';
import { VigilError } from '../errors.js';
import { MAX_NAME_LENGTH } from '../store/copy-text.js';
import type { MetricUnitStore } from '../store/store.js';
import { MAX_UNIT_DESCRIPTION_LENGTH, MAX_UNIT_LENGTH, unitText } from './metric-units.js';

export interface ConfigUnit {
  readonly unit: string;
  readonly description: string | null;
}

/** `"°C"` or `{unit: "°C", description?: "…"}`, each checked by unitText. */
function parseEntry(value: unknown): ConfigUnit {
  if (typeof value === 'string')
    return { unit: unitText('unit', value, MAX_UNIT_LENGTH), description: null };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VigilError('VIGIL_ERR_CONFIG', 'expected a unit ("°C") or {unit, description}');
  }
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).filter((k) => k !== 'unit' && k !== 'description');
  if (unknown.length > 0) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG',
      `unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')}: takes unit and description`,
    );
  }
  if (v.unit === undefined) throw new VigilError('VIGIL_ERR_CONFIG', 'unit is required');
  return {
    unit: unitText('unit', v.unit, MAX_UNIT_LENGTH),
    description:
      v.description === undefined || v.description === null
        ? null
        : unitText('description', v.description, MAX_UNIT_DESCRIPTION_LENGTH),
  };
}

const entry = z.unknown().transform((value, ctx): ConfigUnit => {
  try {
    return parseEntry(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

export const unitsSchema = z.record(z.string(), entry).superRefine((units, ctx) => {
  for (const metric of Object.keys(units)) {
    if (metric.length === 0 || metric.length > MAX_NAME_LENGTH || metric.includes('\0')) {
      ctx.addIssue({
        code: 'custom',
        path: [metric],
        message: `a metric name is 1 to ${MAX_NAME_LENGTH} characters without NUL, this one has ${metric.length}`,
      });
    }
  }
});

export type UnitsConfig = z.infer<typeof unitsSchema>;

/** The section as the store takes it. */
export function configUnits(config: UnitsConfig): Map<string, ConfigUnit> {
  return new Map(Object.entries(config));
}

/**
 * Store the config file's units, replacing what the API or metadata had set for those metrics
 * (with a warning naming each replaced unit), and forgetting config units no longer listed.
 */
export async function applyConfigUnits(
  store: Pick<MetricUnitStore, 'applyConfig'>,
  config: UnitsConfig,
  warn: (msg: string) => void,
): Promise<void> {
  const units = configUnits(config);
  for (const r of await store.applyConfig(units)) {
    warn(
      `units.${r.metric}: the config file's ${JSON.stringify(units.get(r.metric)?.unit)} replaces ${JSON.stringify(r.unit)} set by ${r.source === 'api' ? 'PUT /v1/units' : 'remote-write metadata'}`,
    );
  }
}
