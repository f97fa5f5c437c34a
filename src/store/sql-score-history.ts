/**
 * The dashboard's score history (migration 009): buckets merged in with the higher score and
 * level winning, read back per series. Rows older than the points' retention are pruned by the
 * writes themselves (at most once an hour), so the table never outlives the points it scores.
 */
import { checkName, checkTime, HOUR, ms, read, storeError, ts } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import type { ScoreBucket, ScoreHistoryStore } from './store.js';

const DAY = 24 * HOUR;

const keyOf = (b: ScoreBucket): string => `${b.device}\u0000${b.metric}\u0000${b.time}`;

interface BucketRow {
  device_id: string;
  metric: string;
  t: number;
  score: number;
  level: number;
}

const fromRow = (r: BucketRow): ScoreBucket => ({
  device: r.device_id,
  metric: r.metric,
  time: r.t,
  score: r.score,
  level: r.level,
});

export class SqlScoreHistoryStore implements ScoreHistoryStore {
  #prunedAt = -Infinity;

  constructor(
    private readonly driver: SqlDriver,
    private readonly retentionDays: number,
  ) {}

  async save(buckets: readonly ScoreBucket[]): Promise<void> {
    // One statement must not touch a row twice: merge duplicates here first.
    const merged = new Map<string, ScoreBucket>();
    for (const b of buckets) {
      checkName('score device', b.device);
      checkName('score metric', b.metric);
      checkTime('score time', b.time);
      const seen = merged.get(keyOf(b));
      merged.set(
        keyOf(b),
        seen === undefined
          ? b
          : { ...b, score: Math.max(seen.score, b.score), level: Math.max(seen.level, b.level) },
      );
    }
    if (merged.size === 0) return;
    const rows = [...merged.values()];
    try {
      await this.driver.query({
        name: 'vigil_score_history_save',
        text: `INSERT INTO score_history AS h (device_id, metric, time, score, level)
               SELECT d, m, ${ts('t')}, s, l
               FROM unnest($1::text[], $2::text[], $3::float8[], $4::float4[], $5::int2[])
                 AS u(d, m, t, s, l)
               ON CONFLICT (device_id, metric, time) DO UPDATE
                 SET score = greatest(h.score, excluded.score),
                     level = greatest(h.level, excluded.level)`,
        values: [
          rows.map((r) => r.device),
          rows.map((r) => r.metric),
          rows.map((r) => r.time),
          rows.map((r) => (Number.isFinite(r.score) ? r.score : 0)),
          rows.map((r) => Math.min(2, Math.max(0, Math.trunc(r.level)))),
        ],
      });
      await this.#prune();
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'saving score history failed', error);
    }
  }

  async #prune(): Promise<void> {
    const now = Date.now();
    if (this.retentionDays <= 0 || now - this.#prunedAt < HOUR) return;
    this.#prunedAt = now;
    await this.driver.query({
      name: 'vigil_score_history_prune',
      text: 'DELETE FROM score_history WHERE time < $1',
      values: [new Date(now - this.retentionDays * DAY)],
    });
  }

  async range(device: string, metric: string, from: number, to: number): Promise<ScoreBucket[]> {
    const rows = await read<BucketRow>(this.driver, 'reading score history failed', {
      name: 'vigil_score_history_range',
      text: `SELECT device_id, metric, ${ms('time')} AS t, score::float8 AS score,
                    level::int AS level
             FROM score_history
             WHERE device_id = $1 AND metric = $2 AND time >= $3 AND time < $4
             ORDER BY time`,
      values: [
        checkName('score device', device),
        checkName('score metric', metric),
        new Date(checkTime('score range from', from)),
        new Date(checkTime('score range to', to)),
      ],
    });
    return rows.map(fromRow);
  }

  async latest(series: readonly { device: string; metric: string }[]): Promise<ScoreBucket[]> {
    if (series.length === 0) return [];
    // One index probe per series (the key's last entry), not a scan of their history.
    const rows = await read<BucketRow>(this.driver, 'reading score history failed', {
      name: 'vigil_score_history_latest',
      text: `SELECT h.device_id, h.metric, ${ms('h.time')} AS t, h.score::float8 AS score,
                    h.level::int AS level
             FROM unnest($1::text[], $2::text[]) AS u(d, m)
             CROSS JOIN LATERAL (
               SELECT device_id, metric, time, score, level FROM score_history
               WHERE device_id = u.d AND metric = u.m ORDER BY time DESC LIMIT 1) h`,
      values: [series.map((s) => s.device), series.map((s) => s.metric)],
    });
    return rows.map(fromRow);
  }
}
