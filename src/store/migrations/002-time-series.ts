import type { Migration } from './migration.js';

/** Aggregate column list shared by both continuous aggregates. */
const aggregates =
  'min(value) AS value_min, max(value) AS value_max, sum(value) AS value_sum, ' +
  'count(value) AS value_count';

// Real-time aggregates (materialized_only = false): buckets not yet materialised are computed from
// the points at query time, so an answer never lags the last commit.
const continuousAggregate = (view: string, bucket: string): string =>
  `CREATE MATERIALIZED VIEW ${view}
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT device_id, metric, time_bucket(INTERVAL '${bucket}', time) AS bucket, ${aggregates}
    FROM points GROUP BY device_id, metric, bucket
    WITH NO DATA`;

/**
 * How points are laid out for time-range reads. With TimescaleDB: a hypertable (1-hour chunks on
 * time, 4 hash partitions on device), compression segmented by device, and continuous aggregates
 * at 1 minute and 1 hour with refresh policies. Without it: a BRIN index on time next to the
 * (device, metric, time) primary key. Compression and retention policies are configuration and
 * are applied at every open (timescale.ts), not here.
 */
export const timeSeries: Migration = {
  version: 2,
  name: 'time-series',
  statements: ({ timescale }) =>
    timescale
      ? [
          `SELECT create_hypertable('points', by_range('time', INTERVAL '1 hour'))`,
          `SELECT add_dimension('points', by_hash('device_id', 4))`,
          `ALTER TABLE points SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'device_id',
            timescaledb.compress_orderby = 'metric, time DESC')`,
          continuousAggregate('points_1m', '1 minute'),
          continuousAggregate('points_1h', '1 hour'),
          // Refresh windows stay well inside the shortest sensible retention: refreshing a range
          // whose points were dropped would empty the aggregate there too.
          `SELECT add_continuous_aggregate_policy('points_1m', start_offset => INTERVAL '1 day',
            end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute')`,
          `SELECT add_continuous_aggregate_policy('points_1h', start_offset => INTERVAL '3 days',
            end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes')`,
        ]
      : ['CREATE INDEX points_time_brin ON points USING brin (time)'],
};
