/**
 * The dashboard's score history (migrations 009, 015): buckets merged in with the higher score
 * and level winning and the first threshold staying, read back per series. Rows older than the points' retention are pruned by the
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
  lower: number | null;
  upper: number | null;
}

const fromRow = (r: BucketRow): ScoreBucket => {
  const bucket = {
    device: r.device_id,
    metric: r.metric,
    time: r.t,
    score: r.score,
    level: r.level,
  };
  return r.lower === null || r.upper === null
    ? bucket
    : { ...bucket, threshold: [r.lower, r.upper] };
};

/** The largest finite `real`: beyond it a bound would not store. */
const REAL_MAX = 3.4028234663852886e38;
/** The smallest normal `real`: PostgreSQL refuses smaller magnitudes (underflow), so they are 0. */
const REAL_MIN = 1.1754943508222875e-38;

/** A threshold as its two columns: both null unless both bounds are finite, in order and fit a `real`. */
function thresholdColumns(b: ScoreBucket): [number | null, number | null] {
  const t = b.threshold;
  if (t === undefined) return [null, null];
  const [lower, upper] = t;
  const fits = (v: number): boolean => Number.isFinite(v) && Math.abs(v) <= REAL_MAX;
  if (!(fits(lower) && fits(upper) && lower <= upper)) return [null, null];
  const normal = (v: number): number => (Math.abs(v) < REAL_MIN ? 0 : v);
  return [normal(lower), normal(upper)];
}

/** Columns read back: the bucket and its threshold. */
const COLUMNS = (h: string) =>
  `${h}device_id, ${h}metric, ${ms(`${h}time`)} AS t, ${h}score::float8 AS score, ` +
  `${h}level::int AS level, ${h}lower::float8 AS lower, ${h}upper::float8 AS upper`;

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
      if (seen === undefined) {
        merged.set(keyOf(b), b);
        continue;
      }
      const threshold = seen.threshold ?? b.threshold;
      merged.set(keyOf(b), {
        ...b,
        score: Math.max(seen.score, b.score),
        level: Math.max(seen.level, b.level),
        ...(threshold === undefined ? {} : { threshold }),
      });
    }
    if (merged.size === 0) return;
    const rows = [...merged.values()];
    const thresholds = rows.map(thresholdColumns);
    try {
      // The threshold pair is written whole or not at all, so coalescing each column keeps the
      // stored pair (or fills an empty one).
      await this.driver.query({
        name: 'vigil_score_history_save',
        text: `INSERT INTO score_history AS h (device_id, metric, time, score, level, lower, upper)
               SELECT d, m, ${ts('t')}, s, l, lo, hi
               FROM unnest($1::text[], $2::text[], $3::float8[], $4::float4[], $5::int2[],
                           $6::float4[], $7::float4[])
                 AS u(d, m, t, s, l, lo, hi)
               ON CONFLICT (device_id, metric, time) DO UPDATE
                 SET score = greatest(h.score, excluded.score),
                     level = greatest(h.level, excluded.level),
                     lower = coalesce(h.lower, excluded.lower),
                     upper = coalesce(h.upper, excluded.upper)`,
        values: [
          rows.map((r) => r.device),
          rows.map((r) => r.metric),
          rows.map((r) => r.time),
          rows.map((r) => (Number.isFinite(r.score) ? r.score : 0)),
          rows.map((r) => Math.min(2, Math.max(0, Math.trunc(r.level)))),
          thresholds.map((t) => t[0]),
          thresholds.map((t) => t[1]),
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
      text: `SELECT ${COLUMNS('')}
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
      text: `SELECT ${COLUMNS('h.')}
             FROM unnest($1::text[], $2::text[]) AS u(d, m)
             CROSS JOIN LATERAL (
               SELECT device_id, metric, time, score, level, lower, upper FROM score_history
               WHERE device_id = u.d AND metric = u.m ORDER BY time DESC LIMIT 1) h`,
      values: [series.map((s) => s.device), series.map((s) => s.metric)],
    });
    return rows.map(fromRow);
  }
}
