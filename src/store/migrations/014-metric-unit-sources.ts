import type { Migration } from './migration.js';

/**
 * Where each metric unit came from: `api` (PUT /v1/units), `config` (the `units:` section of
 * `vigil serve`'s config file, re-applied at every start) or `metadata` (Prometheus remote-write
 * metadata, inferred: never replaces the other two). Rows from before are the API's.
 */
export const metricUnitSources: Migration = {
  version: 14,
  name: 'metric-unit-sources',
  statements: () => [
    `ALTER TABLE metric_units ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'api'
       CHECK (source IN ('api', 'config', 'metadata'))`,
  ],
};
