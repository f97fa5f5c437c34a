/**
 * The one implementation of the `Store` contract, in the SQL dialect PGlite, PostgreSQL and
 * TimescaleDB share. Backends (pglite-store.ts, postgres-store.ts) only supply a `SqlDriver`.
 */
import { VigilError } from '../errors.js';
import {
  encodePoints,
  POINT_COLUMNS,
  SeriesExtents,
  type EncodedRows,
  type SeriesExtent,
} from './copy-text.js';
import { checkSchemaName, migrate, type TimescaleMode } from './migrations/index.js';
import { DAY, HOUR, storeError, ts } from './sql-common.js';
import type { SqlDriver, SqlSession } from './sql-driver.js';
import { SqlQuerier } from './sql-querier.js';
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
import { applyPolicies, refreshAggregates, runJobs } from './timescale.js';

export const STORE_DEFAULTS = {
  schema: 'public',
  timescale: 'auto' as TimescaleMode,
  retentionDays: 30,
  compressAfterHours: 24,
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
class WritePath {
  #mergeFirst = 0;

  constructor(private readonly driver: SqlDriver) {}

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

  #direct(chunks: readonly string[], extents: SeriesExtent[]): Promise<void> {
    return this.driver.transaction(async (session) => {
      await session.copyFrom('points', POINT_COLUMNS, chunks);
      await upsertSeries(session, extents);
    });
  }

  #merge(chunks: readonly string[], extents: SeriesExtent[]): Promise<number> {
    return this.driver.transaction(async (session) => {
      // ON COMMIT DELETE ROWS: the staging table lives as long as the connection and is empty
      // at the start of every transaction.
      await session.query(
        `CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (device_id text COLLATE "C",
          metric text COLLATE "C", time timestamptz, value double precision, tags jsonb)
         ON COMMIT DELETE ROWS`,
      );
      await session.copyFrom(STAGING, POINT_COLUMNS, chunks);
      // No ORDER BY: sorting cost up to half the merge time; deadlocks are rare and retried.
      const inserted = await session.query({
        name: 'vigil_points_merge',
        text: `INSERT INTO points (device_id, metric, time, value, tags)
               SELECT device_id, metric, time, value, tags FROM ${STAGING}
               ON CONFLICT DO NOTHING`,
      });
      await upsertSeries(session, extents);
      return inserted.rowCount;
    });
  }
}

/** Widen the series catalogue to the write's extents (computed while encoding, not by SQL). */
async function upsertSeries(session: SqlSession, extents: SeriesExtent[]): Promise<void> {
  await session.query({
    name: 'vigil_series_merge',
    text: `INSERT INTO series AS s (device_id, metric, first_time, last_time)
           SELECT d, m, ${ts('f')}, ${ts('l')}
           FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS e(d, m, f, l)
           ON CONFLICT (device_id, metric) DO UPDATE
             SET first_time = least(s.first_time, excluded.first_time),
                 last_time = greatest(s.last_time, excluded.last_time)
             WHERE excluded.first_time < s.first_time OR excluded.last_time > s.last_time`,
    values: [
      extents.map((e) => e.device),
      extents.map((e) => e.metric),
      extents.map((e) => e.first),
      extents.map((e) => e.last),
    ],
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
  #closed = false;

  constructor(
    private readonly driver: SqlDriver,
    readonly info: StoreInfo,
    private readonly retentionDays: number,
    private readonly ownsDriver: boolean,
  ) {
    this.querier = new SqlQuerier(driver, info.timescale);
    this.events = new SqlEventStore(driver);
    this.strategies = new SqlStrategyStore(driver);
    this.checkpoints = new SqlCheckpointStore(driver);
    this.engineState = new SqlEngineStateStore(driver);
    this.deadLetters = new SqlDeadLetterStore(driver);
    this.pointDeadLetters = new SqlPointDeadLetterStore(driver);
    this.writes = new WritePath(driver);
    this.shadows = new SqlShadowRunStore(driver);
  }

  appender(): Appender {
    return new SqlAppender(this.driver, this.writes);
  }

  async refreshAggregates(from?: number, to?: number): Promise<void> {
    if (!this.info.timescale) return;
    // Never refresh where retention may have dropped points: that would empty the aggregates.
    const floor = this.retentionDays > 0 ? Date.now() - this.retentionDays * DAY : -Infinity;
    const start = Math.max(from ?? -Infinity, floor);
    // Whole hours, so both aggregates get a window of complete buckets.
    const startDate = Number.isFinite(start) ? new Date(Math.ceil(start / HOUR) * HOUR) : null;
    const endDate = to === undefined ? null : new Date(Math.ceil(to / HOUR) * HOUR);
    try {
      await refreshAggregates(this.driver, startDate, endDate);
    } catch (error) {
      throw storeError(
        'VIGIL_ERR_STORE_WRITE',
        'refreshing the continuous aggregates failed',
        error,
      );
    }
  }

  async maintain(): Promise<void> {
    try {
      if (this.info.timescale) {
        await runJobs(this.driver, this.info.schema);
      } else if (this.retentionDays > 0) {
        await this.driver.query({
          text: 'DELETE FROM points WHERE time < now() - $1::interval',
          values: [`${this.retentionDays} days`],
        });
      }
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'storage maintenance failed', error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.ownsDriver) await this.driver.close();
  }
}

export interface SqlStoreConfig extends StoreOptions {
  /** Close the driver on `close()`; false when the caller owns the connection. */
  readonly ownsDriver: boolean;
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

/**
 * Migrate, detect TimescaleDB, apply its policies, and return the store. The driver's search
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
  try {
    const { version } = await migrate(driver, schema, mode);
    const found = await driver.query<{ server: string; timescale: string | null }>(
      `SELECT current_setting('server_version') AS server,
         (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescale`,
    );
    const { server, timescale: timescaleVersion } = found.rows[0]!;
    // The schema's own layout decides, not the server: a schema created without TimescaleDB
    // stays plain even after the extension is installed.
    let timescale = false;
    if (timescaleVersion !== null && mode !== 'off') {
      const hypertable = await driver.query<{ n: number }>({
        text: `SELECT count(*)::int AS n FROM timescaledb_information.hypertables
               WHERE hypertable_schema = $1 AND hypertable_name = 'points'`,
        values: [schema],
      });
      timescale = (hypertable.rows[0]?.n ?? 0) > 0;
    }
    if (mode === 'require' && !timescale) {
      throw new VigilError(
        'VIGIL_ERR_STORE_SCHEMA',
        `TimescaleDB is required but schema ${schema} was created without it`,
      );
    }
    if (timescale) await applyPolicies(driver, schema, { compressAfterHours, retentionDays });
    const info: StoreInfo = {
      backend: driver.backend,
      timescale,
      timescaleVersion,
      serverVersion: server,
      schema,
      schemaVersion: version,
    };
    return new SqlStore(driver, info, retentionDays, config.ownsDriver);
  } catch (error) {
    throw storeError('VIGIL_ERR_STORE_SCHEMA', `opening schema ${schema} failed`, error);
  }
}
