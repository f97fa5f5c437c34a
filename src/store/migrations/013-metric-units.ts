import type { Migration } from './migration.js';

/**
 * The unit (and an optional description) declared for a metric name, for every device that
 * reports it: `temp` is °C fleet-wide. A small table read whole (an operator declares tens, not
 * millions); metrics without a row fall back to the unit their name implies (units.ts).
 */
export const metricUnits: Migration = {
  version: 13,
  name: 'metric-units',
  statements: () => [
    `CREATE TABLE IF NOT EXISTS metric_units (
      metric text COLLATE "C" PRIMARY KEY,
      unit text NOT NULL,
      description text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  ],
};
