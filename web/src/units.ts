/**
 * Units of a device's metrics for the views (`GET /v1/series?device=`: declared or implied by the
 * name), fetched once per device and reused for a minute, so a chart, a table and a label on one
 * page cost one request.
 */
import { api } from './api.js';
import { h } from './dom.js';
import { formatNumber } from './format.js';

const KEEP_MS = 60_000;
const cache = new Map<string, { at: number; units: Promise<Map<string, string>> }>();

/** Metric → unit of one device (metrics without a unit are left out; errors give none). */
export function unitsOf(device: string): Promise<Map<string, string>> {
  const now = Date.now();
  const seen = cache.get(device);
  if (seen !== undefined && now - seen.at < KEEP_MS) return seen.units;
  const units = api.series(device).then(
    ({ series }) =>
      new Map(
        series.flatMap((s) =>
          typeof s.unit === 'string' && s.unit !== '' ? [[s.metric, s.unit] as const] : [],
        ),
      ),
    () => new Map<string, string>(),
  );
  cache.set(device, { at: now, units });
  return units;
}

/** Drop what is cached (a unit was just declared: it holds for every device). */
export function forgetUnits(): void {
  cache.clear();
}

/** A value with its unit: `21.5 °C`, `0.93 ratio`; just the number without a unit. */
export function withUnit(value: number | null | undefined, unit: string | undefined): string {
  const text = formatNumber(value);
  return unit === undefined || text === '—' ? text : `${text} ${unit}`;
}

/** ` (°C)` after a metric's name, filled in once the unit is known (empty without one). */
export function unitSuffix(device: string, metric: string): HTMLElement {
  const span = h('span', { class: 'unit muted', 'data-unit': '' });
  void unitsOf(device).then((units) => {
    const unit = units.get(metric);
    if (unit === undefined) return;
    span.textContent = ` (${unit})`;
    span.dataset.unit = unit;
  });
  return span;
}
