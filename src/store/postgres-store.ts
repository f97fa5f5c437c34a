/**
 * The server backend: a `pg` connection pool to PostgreSQL (with or without TimescaleDB).
 * Bulk writes stream COPY text over `COPY … FROM STDIN` into a per-connection staging table;
 * frequent queries are named, so each connection prepares them once.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { VigilError } from '../errors.js';
import { checkSchemaName } from './migrations/index.js';
import { errorMessage } from './sql-common.js';
import type { SqlDriver, SqlResult, SqlSession, SqlStatement } from './sql-driver.js';
import { openSqlStore, STORE_DEFAULTS } from './sql-store.js';
import type { Store, StoreOptions } from './store.js';
import type { DetectionHooks } from './timescale-detect.js';

export interface PostgresStoreOptions extends StoreOptions {
  /** `postgresql://user[:password]@host[:port]/database[?…]` */
  readonly databaseUrl: string;
  /** Pool size; default 10. */
  readonly maxConnections?: number;
  /** How long to wait for a connection, ms; default 10,000. */
  readonly connectTimeoutMs?: number;
  /** Tests only: break the TimescaleDB detection's own connection at a chosen step. */
  readonly detectionHooks?: DetectionHooks;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** A connection for one COPY stream, and what to do with it afterwards. */
type CopyConnection = () => Promise<{ client: pg.ClientBase; done: () => void }>;

function session(client: Queryable, connect: CopyConnection): SqlSession {
  return {
    async query<R extends object>(statement: SqlStatement | string): Promise<SqlResult<R>> {
      const config =
        typeof statement === 'string'
          ? { text: statement }
          : {
              text: statement.text,
              ...(statement.name === undefined ? {} : { name: statement.name }),
              ...(statement.values === undefined ? {} : { values: [...statement.values] }),
            };
      const result = await client.query<R & pg.QueryResultRow>(config);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    async copyFrom(table, columns, chunks) {
      // A COPY needs one connection for its whole stream; inside a transaction that is the
      // transaction's own client.
      const own = await connect();
      try {
        const stream = own.client.query(
          copyStreams.from(`COPY ${table} (${columns.join(', ')}) FROM STDIN`),
        );
        await pipeline(Readable.from(chunks), stream);
      } finally {
        own.done();
      }
    },
  };
}

/**
 * A pooled client with an 'error' listener for as long as it is checked out. The pool listens
 * only while a client is idle; a server that ends a checked-out connection (a FATAL, an
 * administrator's pg_terminate_backend, a restart) makes the client emit 'error' after the
 * failing query has already rejected, and an unheard 'error' event would end the process.
 * Such a client is marked broken so the pool discards it instead of reusing it.
 */
async function checkout(
  pool: pg.Pool,
): Promise<{ client: pg.PoolClient; done: (discard?: boolean) => void }> {
  const client = await pool.connect();
  let broken = false;
  const onError = (): void => {
    broken = true;
  };
  client.on('error', onError);
  return {
    client,
    done: (discard = false) => {
      // A discarded client keeps the listener: its connection may still report the end.
      if (discard || broken) client.release(true);
      else {
        client.removeListener('error', onError);
        client.release();
      }
    },
  };
}

/** The pool as a `SqlDriver`; exported for tests that drive it directly. */
export function postgresDriver(pool: pg.Pool, config: pg.ClientConfig): SqlDriver {
  // An idle connection dropped by the server must not crash the process; the next query on the
  // pool reconnects or reports VIGIL_ERR_STORE_UNAVAILABLE.
  pool.on('error', () => {});
  return {
    backend: 'postgres',
    // A COPY outside a transaction checks out a client of its own.
    ...session(pool, () => checkout(pool)),
    async transaction(fn) {
      const { client, done } = await checkout(pool);
      let broken = false;
      try {
        await client.query('BEGIN');
        // Inside a transaction a COPY runs on the transaction's own client.
        const result = await fn(session(client, async () => ({ client, done: () => {} })));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        done(broken);
      }
    },
    async isolated(fn) {
      const client = new pg.Client(config);
      // Heard, and then dropped with the client: the statement that caused it has rejected.
      client.on('error', () => {});
      try {
        await client.connect();
        return await fn(session(client, async () => ({ client, done: () => {} })));
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Open (creating and migrating as needed) a store on a PostgreSQL server.
 * @throws VIGIL_ERR_STORE_UNAVAILABLE when the server cannot be reached.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = checkSchemaName(options.schema ?? STORE_DEFAULTS.schema);
  const config: pg.ClientConfig = {
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'vigil',
    // Every connection resolves Vigil's tables in its schema; the public schema stays visible
    // for extension functions (TimescaleDB's time_bucket, …).
    options: `-c search_path=${schema},public`,
  };
  const pool = new pg.Pool({ ...config, max: options.maxConnections ?? 10 });
  const driver = postgresDriver(pool, config);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end();
    throw new VigilError(
      'VIGIL_ERR_STORE_UNAVAILABLE',
      `cannot connect to PostgreSQL at ${redactUrl(options.databaseUrl)}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  try {
    return await openSqlStore(driver, { ...options, ownsDriver: true });
  } catch (error) {
    await pool.end();
    throw error;
  }
}
