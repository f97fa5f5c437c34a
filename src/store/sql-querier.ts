/**
 * Reads: series catalogue, raw and down-sampled points, events. Down-sampling is the one place
 * the dialect forks: `date_bin` on plain PostgreSQL/PGlite, `time_bucket` and the continuous
 * aggregates with TimescaleDB — same buckets (epoch-aligned), same answer.
 */
import {
  checkCount,
  checkName,
  checkTime,
  DAY,
  HOUR,
  invalid,
  MINUTE,
  ms,
  nullToNaN,
  read,
} from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import { EVENT_LABELS } from './store.js';
import { EVENT_COLUMNS, eventFromRow, type EventRow } from './sql-records.js';
import type {
  BucketedPoints,
  DevicesPageQuery,
  EventsQuery,
  FleetCounts,
  Page,
  PointsQuery,
  Querier,
  RawPoints,
  SeriesInfo,
  SeriesPageQuery,
  StoredEvent,
} from './store.js';

const DEFAULT_RAW_LIMIT = 100_000;
const MAX_RAW_LIMIT = 10_000_000;
const DEFAULT_EVENTS_LIMIT = 100;
const MAX_EVENTS_LIMIT = 10_000;
const MAX_BUCKET = 366 * DAY;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 10_000;

/**
 * A series' `first` after retention: beyond the horizon it is looked up in the points (NULL when
 * no point is left). `$r` is the retention in days (0: keep all).
 */
const firstAfterRetention = (r: string): string =>
  `CASE WHEN ${r}::int > 0 AND s.first_time < now() - ${r}::int * interval '1 day'
     THEN (SELECT min(p.time) FROM points p WHERE p.device_id = s.device_id AND p.metric = s.metric)
     ELSE s.first_time END`;

/** A search term as given: lowered by the database (same case folding as the names). */
/** The JSON a tag filter matches with `@>` (the GIN index of migration 012 answers it). */
function tagDocument(tag: { readonly key: string; readonly value: string }): string {
  return JSON.stringify({ [checkName('tag key', tag.key)]: checkName('tag value', tag.value) });
}

function checkSearch(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  return checkName('search text', value);
}

/**
 * Conditions of one listing, each its own prepared statement (a generic plan over
 * `$1 IS NULL OR …` would lose the index).
 */
class Conditions {
  readonly where: string[] = [];
  readonly values: unknown[] = [];
  key = '';

  add(flag: string, condition: (...p: string[]) => string, ...values: unknown[]): void {
    const params = values.map((v) => {
      this.values.push(v);
      return `$${this.values.length}`;
    });
    this.where.push(condition(...params));
    this.key += flag;
  }

  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  get sql(): string {
    return this.where.length > 0 ? `WHERE ${this.where.join(' AND ')}` : '';
  }
}

interface BucketRow {
  t: number;
  mn: number | null;
  mx: number | null;
  av: number | null;
  n: number;
}

/**
 * The bucketed read of one series: $1 device, $2 metric, $3 bucket interval, [$4, $5) range.
 * Exported so a test can EXPLAIN exactly what the API runs.
 */
export function bucketedSql(source: BucketedPoints['source'], timescale: boolean): string {
  const bucket = (column: string): string =>
    timescale
      ? `time_bucket($3::interval, ${column}, timestamptz 'epoch')`
      : `date_bin($3::interval, ${column}, timestamptz 'epoch')`;
  // Aggregates keep sum and count rather than avg, so their buckets merge exactly.
  return source === 'points'
    ? `SELECT ${ms('b')} AS t, min(value) AS mn, max(value) AS mx, avg(value) AS av,
         count(value)::float8 AS n
       FROM (SELECT ${bucket('time')} AS b, value FROM points
             WHERE device_id = $1 AND metric = $2 AND time >= $4 AND time < $5) p
       GROUP BY b ORDER BY b`
    : `SELECT ${ms('b')} AS t, min(value_min) AS mn, max(value_max) AS mx,
         sum(value_sum) / nullif(sum(value_count), 0)::float8 AS av,
         sum(value_count)::float8 AS n
       FROM (SELECT ${bucket('bucket')} AS b, value_min, value_max, value_sum, value_count
             FROM ${source}
             WHERE device_id = $1 AND metric = $2 AND bucket >= $4 AND bucket < $5) a
       GROUP BY b ORDER BY b`;
}

export class SqlQuerier implements Querier {
  constructor(
    private readonly driver: SqlDriver,
    private readonly timescale: boolean,
    /** Days of points kept (0: all): a `first` older than that is looked up in the points. */
    private readonly retentionDays = 0,
  ) {}

  async devices(): Promise<string[]> {
    const rows = await read<{ device_id: string }>(this.driver, 'listing devices failed', {
      name: 'vigil_devices',
      text: 'SELECT DISTINCT device_id FROM series ORDER BY device_id',
    });
    return rows.map((r) => r.device_id);
  }

  async series(device?: string): Promise<SeriesInfo[]> {
    if (device !== undefined) checkName('series device', device);
    const rows = await read<{ device_id: string; metric: string; first: number; last: number }>(
      this.driver,
      'listing series failed',
      {
        // Retention drops the oldest points without touching the catalogue (maintain() catches it
        // up later): a `first` beyond the horizon is looked up in the points, and a series with
        // no point left is not listed.
        name: 'vigil_series',
        text: `SELECT device_id, metric, ${ms('first')} AS first, ${ms('last_time')} AS last
               FROM (SELECT s.device_id, s.metric, s.last_time,
                       CASE WHEN $2::int > 0 AND s.first_time < now() - $2::int * interval '1 day'
                         THEN (SELECT min(p.time) FROM points p
                               WHERE p.device_id = s.device_id AND p.metric = s.metric)
                         ELSE s.first_time END AS first
                     FROM series s WHERE $1::text IS NULL OR s.device_id = $1::text) x
               WHERE first IS NOT NULL
               ORDER BY device_id, metric`,
        values: [device ?? null, this.retentionDays],
      },
    );
    return rows.map((r) => ({
      device: r.device_id,
      metric: r.metric,
      first: r.first,
      last: r.last,
    }));
  }

  async devicePage(query: DevicesPageQuery = {}): Promise<Page<string>> {
    const limit = checkCount('page limit', query.limit ?? DEFAULT_PAGE, MAX_PAGE);
    const q = checkSearch(query.q);
    const c = new Conditions();
    if (query.after !== undefined) {
      c.add('a', (p) => `device_id > ${p}`, checkName('page after', query.after));
    }
    if (q !== undefined) c.add('q', (p) => `strpos(lower(device_id), lower(${p})) > 0`, q);
    if (query.tag !== undefined) c.add('t', (p) => `tags @> ${p}::jsonb`, tagDocument(query.tag));
    const limitParam = c.param(limit + 1);
    // DISTINCT over the (device, metric) key in order: an index scan that stops at the limit.
    const rows = await read<{ device_id: string }>(this.driver, 'listing devices failed', {
      name: `vigil_device_page_${c.key || 'all'}`,
      text: `SELECT DISTINCT device_id FROM series ${c.sql} ORDER BY device_id LIMIT ${limitParam}`,
      values: c.values,
    });
    return {
      items: rows.slice(0, limit).map((r) => r.device_id),
      more: rows.length > limit,
    };
  }

  async seriesPage(query: SeriesPageQuery = {}): Promise<Page<SeriesInfo>> {
    const limit = checkCount('page limit', query.limit ?? DEFAULT_PAGE, MAX_PAGE);
    const q = checkSearch(query.q);
    const c = new Conditions();
    const retention = c.param(this.retentionDays);
    if (query.device !== undefined) {
      c.add('d', (p) => `s.device_id = ${p}`, checkName('series device', query.device));
    }
    if (query.devices !== undefined) {
      const list = query.devices.map((d) => checkName('series devices', d));
      c.add('l', (p) => `s.device_id = ANY(${p}::text[])`, list);
    }
    if (query.after !== undefined) {
      c.add(
        'a',
        (d, m) => `(s.device_id, s.metric) > (${d}, ${m})`,
        checkName('page after device', query.after.device),
        checkName('page after metric', query.after.metric),
      );
    }
    if (q !== undefined) {
      c.add(
        'q',
        (p) =>
          `(strpos(lower(s.device_id), lower(${p})) > 0 OR strpos(lower(s.metric), lower(${p})) > 0)`,
        q,
      );
    }
    if (query.tag !== undefined) {
      c.add('t', (p) => `s.tags @> ${p}::jsonb`, tagDocument(query.tag));
    }
    const limitParam = c.param(limit + 1);
    const rows = await read<{ device_id: string; metric: string; first: number; last: number }>(
      this.driver,
      'listing series failed',
      {
        name: `vigil_series_page_${c.key || 'all'}`,
        text: `SELECT device_id, metric, ${ms('first')} AS first, ${ms('last_time')} AS last
               FROM (SELECT s.device_id, s.metric, s.last_time,
                       ${firstAfterRetention(retention)} AS first
                     FROM series s ${c.sql}) x
               WHERE first IS NOT NULL
               ORDER BY device_id, metric LIMIT ${limitParam}`,
        values: c.values,
      },
    );
    return {
      items: rows.slice(0, limit).map((r) => ({
        device: r.device_id,
        metric: r.metric,
        first: r.first,
        last: r.last,
      })),
      more: rows.length > limit,
    };
  }

  async counts(): Promise<FleetCounts> {
    const rows = await read<{ devices: number; series: number }>(
      this.driver,
      'counting series failed',
      {
        name: 'vigil_fleet_counts',
        text: `SELECT count(DISTINCT device_id)::float8 AS devices, count(*)::float8 AS series
               FROM series`,
      },
    );
    return { devices: rows[0]?.devices ?? 0, series: rows[0]?.series ?? 0 };
  }

  async points(query: PointsQuery): Promise<RawPoints | BucketedPoints> {
    const device = checkName('points query device', query.device);
    const metric = checkName('points query metric', query.metric);
    const from = checkTime('points query from', query.from);
    const to = checkTime('points query to', query.to);
    if (query.source !== undefined && query.source !== 'auto' && query.source !== 'raw') {
      throw invalid(`points query source must be auto or raw, found ${String(query.source)}`);
    }
    return query.bucketMs === undefined
      ? this.#raw(device, metric, from, to, query.limit)
      : this.#buckets(device, metric, from, to, query.bucketMs, query.source ?? 'auto');
  }

  async #raw(
    device: string,
    metric: string,
    from: number,
    to: number,
    limitOption: number | undefined,
  ): Promise<RawPoints> {
    const limit = checkCount('points query limit', limitOption ?? DEFAULT_RAW_LIMIT, MAX_RAW_LIMIT);
    // One row more than asked tells whether the answer was cut short.
    const rows = await read<{ t: number; v: number | null }>(this.driver, 'reading points failed', {
      name: 'vigil_points_raw',
      text: `SELECT ${ms('time')} AS t, value AS v FROM points
             WHERE device_id = $1 AND metric = $2 AND time >= $3 AND time < $4
             ORDER BY time LIMIT $5`,
      values: [device, metric, new Date(from), new Date(to), limit + 1],
    });
    const n = Math.min(rows.length, limit);
    const times = new Float64Array(n);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      times[i] = row.t;
      values[i] = nullToNaN(row.v);
    }
    return { kind: 'raw', times, values, truncated: rows.length > limit };
  }

  async #buckets(
    device: string,
    metric: string,
    from: number,
    to: number,
    bucketOption: number,
    sourceOption: 'auto' | 'raw',
  ): Promise<BucketedPoints> {
    const bucketMs = checkCount('points query bucketMs', bucketOption, MAX_BUCKET);
    const start = Math.floor(from / bucketMs) * bucketMs;
    const end = Math.ceil(to / bucketMs) * bucketMs;
    // An aggregate serves any bucket that is a whole number of its own buckets.
    let source: BucketedPoints['source'] = 'points';
    if (this.timescale && sourceOption === 'auto') {
      if (bucketMs % HOUR === 0) source = 'points_1h';
      else if (bucketMs % MINUTE === 0) source = 'points_1m';
      // Late data not yet refreshed into the aggregate (late-data.ts): the points are exact.
      if (source !== 'points' && (await this.#dirty(source, start, end))) source = 'points';
    }
    const text = bucketedSql(source, this.timescale);
    const rows = await read<BucketRow>(this.driver, 'reading down-sampled points failed', {
      name: `vigil_points_${source}`,
      text,
      values: [device, metric, `${bucketMs} milliseconds`, new Date(start), new Date(end)],
    });
    const n = rows.length;
    const times = new Float64Array(n);
    const min = new Float64Array(n);
    const max = new Float64Array(n);
    const avg = new Float64Array(n);
    const count = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      times[i] = row.t;
      min[i] = nullToNaN(row.mn);
      max[i] = nullToNaN(row.mx);
      avg[i] = nullToNaN(row.av);
      count[i] = row.n;
    }
    return { kind: 'buckets', bucketMs, source, times, min, max, avg, count };
  }

  /** Whether a write below the aggregate's watermark in [start, end) waits for its refresh. */
  async #dirty(aggregate: string, start: number, end: number): Promise<boolean> {
    const rows = await read<{ dirty: boolean }>(this.driver, 'reading down-sampled points failed', {
      name: 'vigil_dirty_overlap',
      text: `SELECT EXISTS (SELECT 1 FROM aggregate_dirty_ranges
                            WHERE aggregate = $1 AND from_time < $3 AND to_time > $2) AS dirty`,
      values: [aggregate, new Date(start), new Date(end)],
    });
    return rows[0]?.dirty === true;
  }

  async events(query: EventsQuery = {}): Promise<StoredEvent[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    // Each combination of filters is its own prepared statement, so each gets its own plan.
    let key = '';
    const add = (flag: string, condition: (p: string) => string, value: unknown): void => {
      values.push(value);
      where.push(condition(`$${values.length}`));
      key += flag;
    };
    if (query.device !== undefined) {
      add('d', (p) => `device_id = ${p}`, checkName('events query device', query.device));
    }
    if (query.metric !== undefined) {
      add('m', (p) => `metric = ${p}`, checkName('events query metric', query.metric));
    }
    if (query.strategy !== undefined) {
      add('s', (p) => `strategy = ${p}`, checkName('events query strategy', query.strategy));
    }
    if (query.minLevel === 'severe') {
      where.push(`level = 'severe'`);
      key += 'l';
    } else if (query.minLevel !== undefined && query.minLevel !== 'alert') {
      throw invalid(
        `events query minLevel must be alert or severe, found ${String(query.minLevel)}`,
      );
    }
    if (query.from !== undefined) {
      const from = new Date(checkTime('events query from', query.from));
      add('f', (p) => `(end_time IS NULL OR end_time >= ${p})`, from);
    }
    if (query.to !== undefined) {
      add('t', (p) => `start_time < ${p}`, new Date(checkTime('events query to', query.to)));
    }
    if (query.label !== undefined) {
      if (query.label === 'none') where.push('label IS NULL');
      else if (query.label === 'any') where.push('label IS NOT NULL');
      else if (EVENT_LABELS.includes(query.label)) {
        add('b', (p) => `label = ${p}`, query.label);
      } else {
        throw invalid(
          `events query label must be ${EVENT_LABELS.join(', ')}, none or any, found ${String(query.label)}`,
        );
      }
      // The fixed conditions need their own statement names too.
      if (query.label === 'none' || query.label === 'any')
        key += query.label === 'none' ? 'n' : 'y';
    }
    const shadow = query.shadow ?? (query.shadowRun === undefined ? 'exclude' : 'only');
    if (query.shadowRun !== undefined) {
      add(
        'r',
        (p) => `shadow_run = ${p}`,
        checkCount('events query shadowRun', query.shadowRun, 2 ** 31 - 1),
      );
    }
    if (shadow === 'exclude') where.push('shadow_run IS NULL');
    else if (shadow === 'only') where.push('shadow_run IS NOT NULL');
    else if (shadow !== 'include') {
      throw invalid(
        `events query shadow must be exclude, include or only, found ${String(shadow as unknown)}`,
      );
    }
    key += shadow[0] as string;
    values.push(
      checkCount('events query limit', query.limit ?? DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT),
    );
    const rows = await read<EventRow>(this.driver, 'reading events failed', {
      name: `vigil_events_${key || 'all'}`,
      text: `SELECT ${EVENT_COLUMNS} FROM events
             ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
             ORDER BY start_time DESC, id LIMIT $${values.length}`,
      values,
    });
    return rows.map(eventFromRow);
  }
}
