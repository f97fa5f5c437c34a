/**
 * Units from remote-write metadata (docs/integrations-prometheus.md, "Units"): a family's
 * non-empty `unit` (OpenMetrics `# UNIT`; base-unit words as symbols, `celsius` → °C) is
 * stored as an inferred unit of the metric names its series take in Vigil, never over a unit
 * declared through the API or the config file. Only
 * with the default metric label (`__name__`): otherwise family names are not Vigil's metric
 * names. Each unit is written when it changes, not at every metadata send (once a minute).
 */
import {
  MAX_UNIT_DESCRIPTION_LENGTH,
  MAX_UNIT_LENGTH,
  unitSymbol,
  unitText,
} from '../../server/metric-units.js';
import type { MetricUnitStore } from '../../store/store.js';
import type { MetricMetadata } from './decode.js';

export interface MetadataUnit {
  readonly metric: string;
  readonly unit: string;
  readonly description: string | null;
}

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
export function metadataUnits(metadata: readonly MetricMetadata[]): MetadataUnit[] {
  const out: MetadataUnit[] = [];
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

/** Most metrics remembered as written; past it the memory starts again (a few more writes). */
const REMEMBERED = 10_000;

/** Writes metadata units to the store, skipping those already written unchanged. */
export class MetadataUnitRecorder {
  private readonly written = new Map<string, string>();

  constructor(private readonly store: Pick<MetricUnitStore, 'setInferred'>) {}

  async record(metadata: readonly MetricMetadata[]): Promise<void> {
    for (const u of metadataUnits(metadata)) {
      const key = `${u.unit}\0${u.description ?? ''}`;
      if (this.written.get(u.metric) === key) continue;
      // Not remembered when a declared unit kept its place: once it is removed, the next
      // metadata send stores this one.
      if (!(await this.store.setInferred(u.metric, u.unit, u.description))) continue;
      if (this.written.size >= REMEMBERED) this.written.clear();
      this.written.set(u.metric, key);
    }
  }
}
