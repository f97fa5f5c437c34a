/**
 * Units from remote-write metadata (docs/integrations-prometheus.md, "Units"): a family's
 * non-empty `unit` (OpenMetrics `# UNIT`; base-unit words as symbols, `celsius` → °C) is
 * stored as an inferred unit of the metric names its series take in Vigil, never over a unit
 * declared through the API or the config file. Only
 * with the default metric label (`__name__`): otherwise family names are not Vigil's metric
 * names. Written by the shared InferredUnitRecorder (when a unit changes, not at every send).
 */
import {
  MAX_UNIT_DESCRIPTION_LENGTH,
  MAX_UNIT_LENGTH,
  unitSymbol,
  unitText,
} from '../../server/metric-units.js';
import type { InferredUnit } from '../../server/unit-recorder.js';
import type { MetricMetadata } from './decode.js';

const CONTROLS = /\p{Cc}+/gu;

/** The help text as a description: controls as spaces, cut to the description limit. */
function description(help: string): string | null {
  const text = [...help.replace(CONTROLS, ' ').trim()];
  if (text.length === 0) return null;
  return text.slice(0, MAX_UNIT_DESCRIPTION_LENGTH).join('').trim();
}

/** The metric names a family's unit applies to: the family, `_total` of a counter, `_sum`. */
function metricNames(m: MetricMetadata): string[] {
  const names = [m.metricFamilyName];
  if (m.type === 'COUNTER' && !m.metricFamilyName.endsWith('_total')) {
    names.push(`${m.metricFamilyName}_total`);
  }
  if (m.type === 'HISTOGRAM' || m.type === 'SUMMARY') names.push(`${m.metricFamilyName}_sum`);
  return names;
}

/** The units metadata declares, by metric name; entries without a valid unit are left out. */
export function metadataUnits(metadata: readonly MetricMetadata[]): InferredUnit[] {
  const out: InferredUnit[] = [];
  for (const m of metadata) {
    if (m.unit === '' || m.metricFamilyName === '') continue;
    let unit: string;
    try {
      unit = unitSymbol(unitText('unit', m.unit, MAX_UNIT_LENGTH));
    } catch {
      continue; // a unit the API would refuse is not shown either
    }
    const text = description(m.help);
    for (const metric of metricNames(m)) out.push({ metric, unit, description: text });
  }
  return out;
}
