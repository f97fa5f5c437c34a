/**
 * TimescaleDB housekeeping: the configurable policies (compression, retention), running the
 * policy jobs on demand, and refreshing the continuous aggregates. Nothing here runs without the
 * extension.
 */
import type { SqlDriver } from './sql-driver.js';

export const AGGREGATES = ['points_1m', 'points_1h'] as const;

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
 * Make the compression and retention policies of `points` match the options: added when missing,
 * replaced when the interval differs, removed when disabled (0). Idempotent.
 */
export async function applyPolicies(
  driver: SqlDriver,
  schema: string,
  policies: { readonly compressAfterHours: number; readonly retentionDays: number },
): Promise<void> {
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

/**
 * Refresh both aggregates over [from, to) (null = unbounded). The 1-minute aggregate first: the
 * order does not matter for correctness (both read the points), only for locality.
 */
export async function refreshAggregates(
  driver: SqlDriver,
  from: Date | null,
  to: Date | null,
): Promise<void> {
  for (const view of AGGREGATES) {
    await driver.query({
      text: `CALL refresh_continuous_aggregate('${view}', $1::timestamptz, $2::timestamptz)`,
      values: [from, to],
    });
  }
}
