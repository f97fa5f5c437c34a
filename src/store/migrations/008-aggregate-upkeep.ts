import type { Migration } from './migration.js';

/**
 * TimescaleDB only. `aggregate_dirty_ranges`: the time ranges written below a continuous
 * aggregate's watermark (late data), recorded in the same transaction as the points so a crash
 * cannot lose them, and removed once refreshed (late-data.ts). And the index the API's
 * bucketed reads need on both aggregates: one series over a time range, `(device_id, metric,
 * bucket)`; TimescaleDB creates only `(device_id, bucket)` and `(metric, bucket)`. The index
 * names are left to the server: an aggregate's indexes live in TimescaleDB's own schema, shared
 * by every Vigil schema of the database.
 */
export const aggregateUpkeep: Migration = {
  version: 8,
  name: 'aggregate-upkeep',
  statements: ({ timescale }) =>
    timescale
      ? [
          `CREATE TABLE IF NOT EXISTS aggregate_dirty_ranges (
            id bigserial PRIMARY KEY,
            aggregate text NOT NULL,
            from_time timestamptz NOT NULL,
            to_time timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
          )`,
          `CREATE INDEX IF NOT EXISTS aggregate_dirty_ranges_span
            ON aggregate_dirty_ranges (aggregate, from_time, to_time)`,
          'CREATE INDEX ON points_1m (device_id, metric, bucket)',
          'CREATE INDEX ON points_1h (device_id, metric, bucket)',
        ]
      : [],
};
