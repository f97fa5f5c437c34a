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

export interface PostgresStoreOptions extends StoreOptions {
  /** `postgresql://user[:password]@host[:port]/database[?…]` */
  readonly databaseUrl: string;
  /** Pool size; default 10. */
  readonly maxConnections?: number;
  /** How long to wait for a connection, ms; default 10,000. */
  readonly connectTimeoutMs?: number;
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

type Queryable = Pick<pg.PoolClient, 'query'>;

function session(client: Queryable, connect: () => Promise<pg.PoolClient>): SqlSession {
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
        const stream = own.query(
          copyStreams.from(`COPY ${table} (${columns.join(', ')}) FROM STDIN`),
        );
        await pipeline(Readable.from(chunks), stream);
      } finally {
        if (own !== client) own.release();
      }
    },
  };
}

/**
 * Open (creating and migrating as needed) a store on a PostgreSQL server.
 * @throws VIGIL_ERR_STORE_UNAVAILABLE when the server cannot be reached.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = checkSchemaName(options.schema ?? STORE_DEFAULTS.schema);
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'vigil',
    // Every connection resolves Vigil's tables in its schema; the public schema stays visible
    // for extension functions (TimescaleDB's time_bucket, …).
    options: `-c search_path=${schema},public`,
  });
  // An idle connection dropped by the server must not crash the process; the next query on the
  // pool reconnects or reports VIGIL_ERR_STORE_UNAVAILABLE.
  pool.on('error', () => {});
  const driver: SqlDriver = {
    backend: 'postgres',
    ...session(pool, () => pool.connect()),
    async transaction(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(session(client, async () => client));
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
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
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
