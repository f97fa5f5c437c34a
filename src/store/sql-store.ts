/**
 * The one implementation of the `Store` contract, in the SQL dialect PGlite, PostgreSQL and
 * TimescaleDB share. Backends (pglite-store.ts, postgres-store.ts) only supply a `SqlDriver`.
 */
import { SqlIncidentStore } from '../incidents/sql-incidents.js';
import { SqlMetricUnitStore } from './sql-metric-units.js';
import { VigilError } from '../errors.js';
import {
  encodePoints,
  POINT_COLUMNS,
  SeriesExtents,
  type EncodedRows,
  type SeriesExtent,
} from './copy-text.js';
import {
  checkSchemaName,
  migrate,
  recordedVariant,
  type TimescaleMode,
} from './migrations/index.js';
import { LateDataRefresher } from './late-data.js';
import { DAY, ms, storeError, ts } from './sql-common.js';
import type { SqlDriver, SqlSession } from './sql-driver.js';
import { SqlQuerier } from './sql-querier.js';
import { SqlScoreHistoryStore } from './sql-score-history.js';
import { SqlDeadLetterStore } from './sql-dead-letters.js';
import { SqlPointDeadLetterStore } from './sql-point-dead-letters.js';
import { SqlShadowRunStore } from './sql-shadow-runs.js';
import { SqlEngineStateStore } from './sql-engine-state.js';
import { SqlCheckpointStore, SqlEventStore, SqlStrategyStore } from './sql-records.js';
import type {
  Appender,
  CommitResult,
  PointBatch,
  Store,
  StoreInfo,
  StoreOptions,
} from './store.js';
import {
  aggregateIds,
  applyPolicies,
  recordLateWrite,
  refreshAggregates,
  runJobs,
  type Aggregate,
} from './timescale.js';
import { detectTimescale, type DetectionHooks } from './timescale-detect.js';

export const STORE_DEFAULTS = {
  schema: 'public',
  timescale: 'auto' as TimescaleMode,
  retentionDays: 30,
  compressAfterHours: 24,
  chunkHours: 1,
} as const;

const STAGING = 'vigil_staging_points';

class SqlAppender implements Appender {
  #chunks: string[] = [];
  #extents = new SeriesExtents();
  #pending = 0;
  #done: 'committed' | 'rolled back' | null = null;

  constructor(
    private readonly driver: SqlDriver,
    private readonly writes: WritePath,
  ) {}

  get pending(): number {
    return this.#pending;
  }

  #checkOpen(): void {
    if (this.#done !== null) {
      throw new VigilError(
        'VIGIL_ERR_STORE_WRITE',
        `appender already ${this.#done}: appenders are single-use, ask the store for a new one`,
      );
    }
  }

  append(batch: PointBatch): void {
    this.#checkOpen();
    // Encoded now, so the caller may reuse its arrays; a bad batch adds nothing.
    for (const chunk of encodePoints(batch, this.#extents)) this.#chunks.push(chunk);
    this.#pending += batch.times.length;
  }

  appendEncoded(rows: EncodedRows): void {
    this.#checkOpen();
    this.#chunks.push(rows.text);
    this.#extents.merge(rows.extents);
    this.#pending += rows.rows;
  }

  async commit(): Promise<CommitResult> {
    this.#checkOpen();
    this.#done = 'committed';
    const chunks = this.#chunks;
    const extents = this.#extents;
    const points = this.#pending;
    this.#chunks = [];
    this.#extents = new SeriesExtents();
    this.#pending = 0;
    if (points === 0) return { points: 0, inserted: 0 };
    try {
      return { points, inserted: await this.writes.write(chunks, extents.sorted(), points) };
    } catch (error) {
      // Nothing was stored: stay open with the same points, so the caller can retry or roll back.
      this.#chunks = chunks;
      this.#extents = extents;
      this.#pending = points;
      this.#done = null;
      throw error;
    }
  }

  rollback(): void {
    this.#checkOpen();
    this.#done = 'rolled back';
    this.#chunks = [];
    this.#extents = new SeriesExtents();
    this.#pending = 0;
  }
}

// Retried on deadlock: two writers of overlapping points in different orders can deadlock on
// the primary key; PostgreSQL aborts one, and since writes are idempotent it simply goes again.
const DEADLOCK = '40P01';
const UNIQUE_VIOLATION = '23505';
const WRITE_ATTEMPTS = 3;
/** Writes that go through staging after a conflict, before a direct COPY is tried again. */
const MERGE_AFTER_CONFLICT = 32;

const sqlStateOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/**
 * How point writes reach the points table. Almost every write is of new points, so it is COPYed
 * straight into `points`: as fast as a bare COPY, with the primary key as the idempotency check.
 * A write holding a point that is already stored (a spool replay after a crash, a client
 * resending) fails that check as a whole and is redone through a staging table merged with
 * `ON CONFLICT DO NOTHING` — the rule that a stored point is never replaced. Conflicts come in
 * runs (a replay is many writes), so the next writes go through staging first.
 */
/** With TimescaleDB: how a write finds out it landed below an aggregate's watermark. */
interface LateWrites {
  readonly ids: ReadonlyMap<Aggregate, number>;
  /** Called after the commit of a write that recorded dirty ranges. */
  readonly committed: () => void;
}

class WritePath {
  #mergeFirst = 0;

  constructor(
    private readonly driver: SqlDriver,
    private readonly late: LateWrites | null,
  ) {}

  async write(chunks: readonly string[], extents: SeriesExtent[], points: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.#mergeFirst > 0) {
          this.#mergeFirst--;
          return await this.#merge(chunks, extents);
        }
        try {
          await this.#direct(chunks, extents);
          return points;
        } catch (error) {
          if (sqlStateOf(error) !== UNIQUE_VIOLATION) throw error;
          this.#mergeFirst = MERGE_AFTER_CONFLICT;
          return await this.#merge(chunks, extents);
        }
      } catch (error) {
        if (sqlStateOf(error) === DEADLOCK && attempt < WRITE_ATTEMPTS) continue;
        throw storeError(
          'VIGIL_ERR_STORE_WRITE',
          'storing points failed, nothing was stored',
          error,
        );
      }
    }
  }

  async #direct(chunks: readonly string[], extents: SeriesExtent[]): Promise<void> {
    const late = await this.driver.transaction(async (session) => {
      await session.copyFrom('points', POINT_COLUMNS, chunks);
      await upsertSeries(session, extents);
      return this.#recordLate(session, extents);
    });
    if (late > 0) this.late?.committed();
  }

  /** Ranges below an aggregate's watermark, recorded with the points (late-data.ts). */
  async #recordLate(session: SqlSession, extents: readonly SeriesExtent[]): Promise<number> {
    if (this.late === null || extents.length === 0) return 0;
    let first = Infinity;
    let last = -Infinity;
    for (const e of extents) {
      if (e.first < first) first = e.first;
      if (e.last > last) last = e.last;
    }
    return recordLateWrite(session, this.late.ids, first, last);
  }

  async #merge(chunks: readonly string[], extents: SeriesExtent[]): Promise<number> {
    let late = 0;
    const inserted = await this.driver.transaction(async (session) => {
      // ON COMMIT DELETE ROWS: the staging table lives as long as the connection and is empty
      // at the start of every transaction.
      await session.query(
        `CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (device_id text COLLATE "C",
          metric text COLLATE "C", time timestamptz, value double precision, tags jsonb)
         ON COMMIT DELETE ROWS`,
      );
      await session.copyFrom(STAGING, POINT_COLUMNS, chunks);
      // No ORDER BY: sorting cost up to half the merge time; deadlocks are rare and retried.
      const merge = `INSERT INTO points (device_id, metric, time, value, tags)
               SELECT device_id, metric, time, value, tags FROM ${STAGING}
               ON CONFLICT DO NOTHING`;
      if (this.late === null) {
        const inserted = await session.query({ name: 'vigil_points_merge', text: merge });
        await upsertSeries(session, extents);
        return inserted.rowCount;
      }
      // With aggregates to keep: the span of the points that were new, since a replay of stored
      // points changes no bucket.
      const added = await session.query<{ n: number; f: number | null; l: number | null }>({
        name: 'vigil_points_merge_span',
        text: `WITH added AS (${merge} RETURNING time)
               SELECT count(*)::int AS n, ${ms('min(time)')} AS f, ${ms('max(time)')} AS l
               FROM added`,
      });
      await upsertSeries(session, extents);
      const { n, f, l } = added.rows[0]!;
      if (n > 0 && f !== null && l !== null) {
        late = await recordLateWrite(session, this.late.ids, f, l);
      }
      return n;
    });
    if (late > 0) this.late?.committed();
    return inserted;
  }
}

/** Widen the series catalogue to the write's extents (computed while encoding, not by SQL). */
async function upsertSeries(session: SqlSession, extents: SeriesExtent[]): Promise<void> {
  await session.query({
    name: 'vigil_series_merge',
    // Tags merge key by key (the newest write wins), written only when they add something.
    text: `INSERT INTO series AS s (device_id, metric, first_time, last_time, tags)
           SELECT d, m, ${ts('f')}, ${ts('l')}, g::jsonb
           FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[])
             AS e(d, m, f, l, g)
           ON CONFLICT (device_id, metric) DO UPDATE
             SET first_time = least(s.first_time, excluded.first_time),
                 last_time = greatest(s.last_time, excluded.last_time),
                 tags = CASE WHEN excluded.tags IS NULL THEN s.tags
                        ELSE coalesce(s.tags, '{}'::jsonb) || excluded.tags END
             WHERE excluded.first_time < s.first_time OR excluded.last_time > s.last_time
               OR (excluded.tags IS NOT NULL AND NOT coalesce(s.tags @> excluded.tags, false))`,
    values: [
      extents.map((e) => e.device),
      extents.map((e) => e.metric),
      extents.map((e) => e.first),
      extents.map((e) => e.last),
      extents.map((e) => (e.tags === undefined ? null : JSON.stringify(e.tags))),
    ],
  });
}

/** After retention: the series catalogue's `first` moved up to the oldest point left. */
async function trimSeriesExtents(driver: SqlDriver, retentionDays: number): Promise<void> {
  const horizon = `${retentionDays} days`;
  await driver.query({
    text: `UPDATE series s SET first_time = x.first
           FROM (SELECT o.device_id, o.metric,
                   (SELECT min(p.time) FROM points p
                    WHERE p.device_id = o.device_id AND p.metric = o.metric) AS first
                 FROM series o WHERE o.first_time < now() - $1::interval) x
           WHERE s.device_id = x.device_id AND s.metric = x.metric
             AND x.first IS NOT NULL AND x.first > s.first_time`,
    values: [horizon],
  });
  // A series whose every point was dropped is no longer listed.
  await driver.query({
    text: `DELETE FROM series s WHERE s.first_time < now() - $1::interval
             AND NOT EXISTS (SELECT 1 FROM points p
                             WHERE p.device_id = s.device_id AND p.metric = s.metric)`,
    values: [horizon],
  });
}

class SqlStore implements Store {
  readonly querier: SqlQuerier;
  readonly events: SqlEventStore;
  readonly strategies: SqlStrategyStore;
  readonly checkpoints: SqlCheckpointStore;
  readonly engineState: SqlEngineStateStore;
  readonly deadLetters: SqlDeadLetterStore;
  readonly pointDeadLetters: SqlPointDeadLetterStore;
  private readonly writes: WritePath;
  readonly shadows: SqlShadowRunStore;
  readonly scoreHistory: SqlScoreHistoryStore;
  readonly incidents: SqlIncidentStore;
  readonly metricUnits: SqlMetricUnitStore;
  readonly #late: LateDataRefresher | null;
  #closed = false;

  constructor(
    private readonly driver: SqlDriver,
    readonly info: StoreInfo,
    private readonly retentionDays: number,
    private readonly ownsDriver: boolean,
    aggregates: ReadonlyMap<Aggregate, number> | null,
    log: (message: string) => void,
  ) {
    this.querier = new SqlQuerier(driver, info.timescale, retentionDays);
    this.events = new SqlEventStore(driver);
    this.strategies = new SqlStrategyStore(driver);
    this.checkpoints = new SqlCheckpointStore(driver);
    this.engineState = new SqlEngineStateStore(driver);
    this.deadLetters = new SqlDeadLetterStore(driver);
    this.pointDeadLetters = new SqlPointDeadLetterStore(driver);
    this.#late =
      aggregates === null
        ? null
        : new LateDataRefresher(driver, { floor: () => this.#retentionFloor(), log });
    const late = this.#late;
    this.writes = new WritePath(
      driver,
      late === null || aggregates === null
        ? null
        : { ids: aggregates, committed: () => late.notify() },
    );
    this.shadows = new SqlShadowRunStore(driver);
    this.scoreHistory = new SqlScoreHistoryStore(driver, retentionDays);
    this.incidents = new SqlIncidentStore(driver);
    this.metricUnits = new SqlMetricUnitStore(driver);
    // Ranges recorded before a crash or a close are refreshed soon after opening.
    late?.notify();
  }

  /** Never refresh where retention may have dropped points: that would empty the aggregates. */
  #retentionFloor(): number {
    return this.retentionDays > 0 ? Date.now() - this.retentionDays * DAY : -Infinity;
  }

  appender(): Appender {
    return new SqlAppender(this.driver, this.writes);
  }

  async refreshAggregates(from?: number, to?: number): Promise<void> {
    if (!this.info.timescale) return;
    try {
      await refreshAggregates(
        this.driver,
        { from: from ?? -Infinity, to: to ?? Infinity },
        this.#retentionFloor(),
      );
    } catch (error) {
      throw storeError(
        'VIGIL_ERR_STORE_WRITE',
        'refreshing the continuous aggregates failed',
        error,
      );
    }
  }

  async refreshLateWrites(): Promise<number> {
    if (this.#late === null) return 0;
    try {
      return await this.#late.refreshNow();
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'refreshing late data failed', error);
    }
  }

  async maintain(): Promise<void> {
    try {
      if (this.info.timescale) {
        await runJobs(this.driver, this.info.schema);
        await this.#late?.refreshNow();
      } else if (this.retentionDays > 0) {
        await this.driver.query({
          text: 'DELETE FROM points WHERE time < now() - $1::interval',
          values: [`${this.retentionDays} days`],
        });
      }
      if (this.retentionDays > 0) await trimSeriesExtents(this.driver, this.retentionDays);
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'storage maintenance failed', error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#late?.close();
    if (this.ownsDriver) await this.driver.close();
  }
}

export interface SqlStoreConfig extends StoreOptions {
  /** Close the driver on `close()`; false when the caller owns the connection. */
  readonly ownsDriver: boolean;
  /** Tests only: break the TimescaleDB detection's connection at a chosen step. */
  readonly detectionHooks?: DetectionHooks;
}

function checkOption(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new VigilError(
      'VIGIL_ERR_STORE_SCHEMA',
      `store option ${name} must be a non-negative integer, found ${value}`,
    );
  }
  return value;
}

/** Without a `log` option, a fallback is reported as a process warning (stderr). */
function defaultLog(message: string): void {
  process.emitWarning(message, { code: 'VIGIL_STORE' });
}

/**
 * Detect TimescaleDB, migrate, apply its policies, and return the store. The driver's search
 * path must already be `<schema>, public`.
 */
export async function openSqlStore(driver: SqlDriver, config: SqlStoreConfig): Promise<Store> {
  const schema = checkSchemaName(config.schema ?? STORE_DEFAULTS.schema);
  const mode = config.timescale ?? STORE_DEFAULTS.timescale;
  if (mode !== 'auto' && mode !== 'require' && mode !== 'off') {
    throw new VigilError(
      'VIGIL_ERR_STORE_SCHEMA',
      `store option timescale must be auto, require or off`,
    );
  }
  const retentionDays = checkOption(
    'retentionDays',
    config.retentionDays ?? STORE_DEFAULTS.retentionDays,
  );
  const compressAfterHours = checkOption(
    'compressAfterHours',
    config.compressAfterHours ?? STORE_DEFAULTS.compressAfterHours,
  );
  const chunkHours = checkOption('chunkHours', config.chunkHours ?? STORE_DEFAULTS.chunkHours);
  if (chunkHours === 0) {
    throw new VigilError('VIGIL_ERR_STORE_SCHEMA', 'store option chunkHours must be at least 1');
  }
  const log = config.log ?? defaultLog;
  try {
    // Plain catalogue reads first: what the schema was created with decides what must load.
    const recorded = await recordedVariant(driver, schema);
    const detection =
      mode === 'off' && recorded !== 'timescaledb'
        ? { usable: false, offered: null, version: null, reason: 'timescale is off' }
        : await detectTimescale(driver, config.detectionHooks);
    if (recorded === 'timescaledb' && !detection.usable) {
      throw new VigilError(
        'VIGIL_ERR_STORE_SCHEMA',
        `schema ${schema} keeps its points in a TimescaleDB hypertable, but the server cannot ` +
          `use TimescaleDB now: ${detection.reason ?? 'not usable'}`,
      );
    }
    const migrated = await migrate(driver, schema, {
      mode,
      usable: detection.usable && mode !== 'off',
      reason: detection.reason,
    });
    const timescale = migrated.timescale && mode !== 'off';
    const found = await driver.query<{ server: string; timescale: string | null }>(
      `SELECT current_setting('server_version') AS server,
         (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescale`,
    );
    const { server, timescale: timescaleVersion } = found.rows[0]!;
    const note =
      timescale || mode === 'off'
        ? null
        : recorded === 'plain'
          ? `schema ${schema} was created without TimescaleDB`
          : detection.reason;
    // The fallback worth a line: TimescaleDB is (or may be) there, but cannot be used.
    if (!timescale && mode === 'auto' && detection.offered !== false && recorded !== 'plain') {
      log(`TimescaleDB not used, points stored in plain PostgreSQL tables: ${note ?? ''}`);
    }
    let aggregates: ReadonlyMap<Aggregate, number> | null = null;
    if (timescale) {
      await applyPolicies(driver, schema, { compressAfterHours, retentionDays, chunkHours });
      aggregates = await aggregateIds(driver, schema);
    }
    const info: StoreInfo = {
      backend: driver.backend,
      timescale,
      timescaleVersion,
      timescaleNote: note,
      serverVersion: server,
      schema,
      schemaVersion: migrated.version,
    };
    return new SqlStore(driver, info, retentionDays, config.ownsDriver, aggregates, log);
  } catch (error) {
    throw storeError('VIGIL_ERR_STORE_SCHEMA', `opening schema ${schema} failed`, error);
  }
}
