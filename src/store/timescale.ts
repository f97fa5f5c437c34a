/**
 * TimescaleDB housekeeping: the configurable policies (compression, retention), running the
 * policy jobs on demand, and refreshing the continuous aggregates. Nothing here runs without the
 * extension.
 */
import { HOUR, MINUTE, ts } from './sql-common.js';
import type { SqlDriver, SqlSession } from './sql-driver.js';

export const AGGREGATES = ['points_1m', 'points_1h'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** Each aggregate's bucket, ms: a refresh window is whole buckets of it. */
export const AGGREGATE_BUCKET: Readonly<Record<Aggregate, number>> = {
  points_1m: MINUTE,
  points_1h: HOUR,
};

interface Job {
  job_id: number;
  proc_name: string;
  hypertable_name: string;
  setting: string | null;
}

async function jobs(driver: SqlDriver, schema: string): Promise<Job[]> {
  const result = await driver.query<Job>({
    text: `SELECT job_id, proc_name, hypertable_name,
             coalesce(config->>'compress_after', config->>'drop_after') AS setting
           FROM timescaledb_information.jobs
           WHERE hypertable_schema = $1 AND hypertable_name IN ('points', 'points_1m', 'points_1h')
           ORDER BY job_id`,
    values: [schema],
  });
  return result.rows;
}

/**
 * Make the chunk interval and the compression and retention policies of `points` match the
 * options: added when missing, replaced when the interval differs, removed when disabled (0).
 * Idempotent.
 */
export async function applyPolicies(
  driver: SqlDriver,
  schema: string,
  policies: {
    readonly compressAfterHours: number;
    readonly retentionDays: number;
    readonly chunkHours: number;
  },
): Promise<void> {
  const chunk = `${policies.chunkHours} hours`;
  const current = await driver.query<{ same: boolean }>({
    text: `SELECT time_interval = $2::interval AS same FROM timescaledb_information.dimensions
           WHERE hypertable_schema = $1 AND hypertable_name = 'points'
             AND dimension_type = 'Time'`,
    values: [schema, chunk],
  });
  // Existing chunks keep their span; new ones get the configured one.
  if (current.rows[0]?.same !== true) {
    await driver.query({
      text: `SELECT set_chunk_time_interval('points', $1::interval)`,
      values: [chunk],
    });
  }
  const existing = await jobs(driver, schema);
  const wanted = [
    {
      proc: 'policy_compression',
      interval: policies.compressAfterHours > 0 ? `${policies.compressAfterHours} hours` : null,
      remove: `SELECT remove_compression_policy('points', if_exists => true)`,
      add: `SELECT add_compression_policy('points', compress_after => $1::interval)`,
    },
    {
      proc: 'policy_retention',
      interval: policies.retentionDays > 0 ? `${policies.retentionDays} days` : null,
      remove: `SELECT remove_retention_policy('points', if_exists => true)`,
      add: `SELECT add_retention_policy('points', drop_after => $1::interval)`,
    },
  ];
  for (const policy of wanted) {
    const job = existing.find((j) => j.proc_name === policy.proc && j.hypertable_name === 'points');
    if (job !== undefined && policy.interval !== null) {
      const same = await driver.query<{ same: boolean }>({
        text: 'SELECT $1::interval = $2::interval AS same',
        values: [job.setting, policy.interval],
      });
      if (same.rows[0]?.same === true) continue;
    }
    if (job !== undefined) await driver.query(policy.remove);
    if (policy.interval !== null)
      await driver.query({ text: policy.add, values: [policy.interval] });
  }
}

/** Run every policy job of the points hypertable and its aggregates now, refreshes first. */
export async function runJobs(driver: SqlDriver, schema: string): Promise<void> {
  const order = (j: Job): number =>
    j.proc_name.includes('refresh') ? (j.hypertable_name === 'points_1m' ? 0 : 1) : 2;
  const all = (await jobs(driver, schema)).sort((a, b) => order(a) - order(b));
  // run_job commits internally, so each call stands alone, outside any transaction.
  for (const job of all) await driver.query(`CALL run_job(${Number(job.job_id)})`);
}

/** A refresh window in ms, [from, to); ±Infinity = unbounded. */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

/**
 * Widen [from, to) outward to whole buckets (start down, end up), so every bucket the range
 * touches is recomputed: TimescaleDB refreshes only the buckets wholly inside its window and
 * refuses a window smaller than one bucket. `floor`, where retention may have dropped points,
 * is rounded up instead: a bucket partly dropped must keep its materialised value. Null when
 * nothing is left to refresh.
 */
export function alignedWindow(
  window: TimeWindow,
  bucketMs: number,
  floor = -Infinity,
): TimeWindow | null {
  const lowest = Number.isFinite(floor) ? Math.ceil(floor / bucketMs) * bucketMs : -Infinity;
  const from = Number.isFinite(window.from)
    ? Math.max(Math.floor(window.from / bucketMs) * bucketMs, lowest)
    : lowest;
  const to = Number.isFinite(window.to) ? Math.ceil(window.to / bucketMs) * bucketMs : Infinity;
  return from < to ? { from, to } : null;
}

const asDate = (ms: number): Date | null => (Number.isFinite(ms) ? new Date(ms) : null);

/** Refresh one aggregate over a window, aligned outward to its buckets. */
export async function refreshAggregate(
  driver: SqlDriver,
  view: Aggregate,
  window: TimeWindow,
  floor = -Infinity,
): Promise<void> {
  const aligned = alignedWindow(window, AGGREGATE_BUCKET[view], floor);
  if (aligned === null) return;
  // refresh_continuous_aggregate commits internally: a statement of its own, outside any
  // transaction.
  const values = [asDate(aligned.from), asDate(aligned.to)];
  await driver.query({
    text: `CALL refresh_continuous_aggregate('${view}', $1::timestamptz, $2::timestamptz)`,
    values,
  });
  // Late writes wholly inside the window are in the aggregate now.
  await driver.query({
    text: `DELETE FROM aggregate_dirty_ranges WHERE aggregate = $3
             AND ($1::timestamptz IS NULL OR from_time >= $1::timestamptz)
             AND ($2::timestamptz IS NULL OR to_time <= $2::timestamptz)`,
    values: [...values, view],
  });
}

/**
 * Refresh both aggregates over [from, to), each aligned outward to its own buckets, never below
 * `floor`. The 1-minute aggregate first: the order does not matter for correctness (both read
 * the points), only for locality.
 */
export async function refreshAggregates(
  driver: SqlDriver,
  window: TimeWindow,
  floor = -Infinity,
): Promise<void> {
  for (const view of AGGREGATES) await refreshAggregate(driver, view, window, floor);
}

/** The materialisation hypertable of each aggregate of `schema`, for its watermark. */
export async function aggregateIds(
  driver: SqlDriver,
  schema: string,
): Promise<ReadonlyMap<Aggregate, number>> {
  const result = await driver.query<{ view: string; id: number }>({
    text: `SELECT user_view_name AS view, mat_hypertable_id AS id
           FROM _timescaledb_catalog.continuous_agg WHERE user_view_schema = $1`,
    values: [schema],
  });
  const ids = new Map<Aggregate, number>();
  for (const row of result.rows) {
    if ((AGGREGATES as readonly string[]).includes(row.view))
      ids.set(row.view as Aggregate, row.id);
  }
  return ids;
}

/**
 * In the write's own transaction, after its points: for each aggregate whose watermark lies
 * above the write's earliest point, record [first, min(last + 1, watermark)) as dirty. Those
 * buckets are materialised already, so the new points reach the aggregate only through a
 * refresh; above the watermark the real-time aggregate reads the points anyway. Returns the
 * number of ranges recorded.
 */
export async function recordLateWrite(
  session: SqlSession,
  ids: ReadonlyMap<Aggregate, number>,
  first: number,
  last: number,
): Promise<number> {
  const result = await session.query({
    name: 'vigil_late_write',
    text: `INSERT INTO aggregate_dirty_ranges (aggregate, from_time, to_time)
           SELECT view, f, least(t, w)
           FROM (SELECT v.view, ${ts('$1::float8')} AS f, ${ts('$2::float8')} AS t,
                   _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(v.id))
                     AS w
                 FROM unnest($3::text[], $4::int[]) AS v(view, id)) x
           WHERE f < w`,
    values: [first, last + 1, [...ids.keys()], [...ids.values()]],
  });
  return result.rowCount;
}
