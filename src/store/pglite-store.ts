/**
 * The embedded backend: PostgreSQL compiled to WebAssembly (PGlite), in-process, in a data
 * directory or in memory. One session, so statements are serialised by PGlite itself.
 * Bulk writes use PGlite's own COPY path, `COPY … FROM '/dev/blob'` with the COPY text as a Blob:
 * measured faster than multi-row `INSERT … SELECT FROM unnest($1::text[], …)` (docs/storage.md).
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { VigilError } from '../errors.js';
import { checkSchemaName } from './migrations/index.js';
import {
  clearDataDir,
  isNewDataDir,
  readTemplate,
  saveTemplate,
  templateFile,
  unpackTemplate,
} from './pglite-template.js';
import { errorMessage } from './sql-common.js';
import type { SqlDriver, SqlResult, SqlSession, SqlStatement } from './sql-driver.js';
import { openSqlStore, STORE_DEFAULTS } from './sql-store.js';
import type { Store, StoreOptions } from './store.js';

interface PGliteQueryOptions {
  readonly blob?: Blob;
}

interface PGliteResults<T> {
  rows: T[];
  affectedRows?: number;
}

/** What Vigil uses of a PGlite instance or transaction; any PGlite build satisfies it. */
export interface PGliteQueryable {
  query<T>(
    sql: string,
    params?: unknown[],
    options?: PGliteQueryOptions,
  ): Promise<PGliteResults<T>>;
}

export interface PGliteLike extends PGliteQueryable {
  exec(sql: string): Promise<unknown>;
  transaction<T>(fn: (tx: PGliteQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface PGliteStoreOptions extends StoreOptions {
  /** Data directory (created if missing); without it (and without `db`) the store is in memory. */
  readonly dataDir?: string;
  /**
   * An open PGlite instance to use instead (e.g. a build with extensions). The store sets its
   * search path and never closes it.
   */
  readonly db?: PGliteLike;
  /**
   * PostgreSQL's `shared_buffers` for the embedded database, in MB (default
   * `EMBEDDED_BUFFERS_MB`). PGlite zero-fills the whole pool in its WebAssembly memory at start,
   * so every MB here is a MB of resident memory even when idle.
   */
  readonly sharedBuffersMb?: number;
}

/**
 * 16 MB instead of PostgreSQL's 128 MB: ~110 MB less resident memory at idle; writes measured
 * no slower, a cold down-sampled read ~1.8× slower (the operating system's page cache holds the
 * rest; docs/benchmarks.md, "Idle memory: the embedded buffer pool").
 */
export const EMBEDDED_BUFFERS_MB = 16;

/**
 * V8 runs WebAssembly in its baseline compiler's code first and optimises a function once about
 * this many bytes of it have run (V8's default: 1,800,000). PostgreSQL's start-up runs much of
 * the 9 MB module once; with the default budget V8 optimises thousands of those functions in the
 * background, competing with the start for the CPU: ~0.4 s longer to ready and ~35 MB more
 * resident code that never runs again. At 100× the budget the start stays in baseline code and
 * what statements run over and over is still optimised (docs/benchmarks.md, "Start time").
 */
export const WASM_TIERING_BUDGET = 180_000_000;

/** Raise V8's budget before PGlite compiles its module, unless Node was given one. */
function raiseWasmTieringBudget(): void {
  const given = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((arg) =>
    /--wasm[-_]tiering[-_]budget/.test(arg),
  );
  if (!given) setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
}

function session(target: PGliteQueryable): SqlSession {
  return {
    async query<R extends object>(statement: SqlStatement | string): Promise<SqlResult<R>> {
      const { text, values } = typeof statement === 'string' ? { text: statement } : statement;
      const result = await target.query<R>(text, values === undefined ? [] : [...values]);
      return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
    },
    async copyFrom(table, columns, chunks) {
      const sql = `COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`;
      for (const chunk of chunks) await target.query(sql, [], { blob: new Blob([chunk]) });
    },
  };
}

function driver(db: PGliteLike, release: () => Promise<void>): SqlDriver {
  return {
    backend: 'pglite',
    ...session(db),
    transaction: (fn) => db.transaction((tx) => fn(session(tx))),
    // PGlite is one in-process session; a failed statement fails alone, it cannot end it.
    isolated: (fn) => fn(session(db)),
    close: release,
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An open PGlite, and the template file to save once the store's schema is in it. */
interface Opened {
  readonly db: PGlite;
  readonly saveTemplateAs?: string;
}

/**
 * Open PGlite; a new data directory from the template when there is one (pglite-template.ts),
 * else by initdb, to be saved as the template once migrated.
 */
async function createPGlite(
  dataDir: string | undefined,
  sharedBuffersMb: number,
  schema: string,
): Promise<Opened> {
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffersMb}MB`];
  raiseWasmTieringBudget();
  if (dataDir === undefined) return { db: await PGlite.create({ startParams }) };
  if (!isNewDataDir(dataDir)) return { db: await PGlite.create({ dataDir, startParams }) };
  const file = templateFile(process.env, schema);
  const template = readTemplate(file);
  if (template !== undefined) {
    try {
      unpackTemplate(template, dataDir);
      return { db: await PGlite.create({ dataDir, startParams }) };
    } catch {
      clearDataDir(dataDir); // a bad template: initdb instead
    }
  }
  const db = await PGlite.create({ dataDir, startParams });
  return file === undefined ? { db } : { db, saveTemplateAs: file };
}

/**
 * PGlite has no postmaster guarding its directory: two processes opening it would corrupt it. A
 * lock file beside the directory (not in it: initdb wants an empty directory) holds the owner's
 * pid; a lock left by a dead process is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const path = `${resolve(dataDir)}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new VigilError(
          'VIGIL_ERR_STORE_UNAVAILABLE',
          `cannot lock PGlite data directory ${dataDir}: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      const owner = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new VigilError(
          'VIGIL_ERR_STORE_UNAVAILABLE',
          `PGlite data directory ${dataDir} is in use by process ${owner} (lock file ${path})`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new VigilError(
    'VIGIL_ERR_STORE_UNAVAILABLE',
    `cannot lock PGlite data directory ${dataDir}`,
  );
}

/**
 * Open (creating and migrating as needed) an embedded store.
 * @throws VIGIL_ERR_STORE_UNAVAILABLE when the directory cannot be opened or is in use.
 */
export async function openPGliteStore(options: PGliteStoreOptions = {}): Promise<Store> {
  const schema = checkSchemaName(options.schema ?? STORE_DEFAULTS.schema);
  let db: PGliteLike;
  let release: () => Promise<void>;
  let saveAfterMigrating: (() => Promise<void>) | undefined;
  if (options.db !== undefined) {
    db = options.db;
    release = async () => {};
  } else {
    const unlock = options.dataDir === undefined ? () => {} : lockDataDir(options.dataDir);
    try {
      const opened = await createPGlite(
        options.dataDir,
        options.sharedBuffersMb ?? EMBEDDED_BUFFERS_MB,
        schema,
      );
      const own = opened.db;
      const file = opened.saveTemplateAs;
      if (file !== undefined) saveAfterMigrating = () => saveTemplate(own, file);
      db = own;
      release = async () => {
        try {
          await own.close();
        } finally {
          unlock();
        }
      };
    } catch (error) {
      unlock();
      throw new VigilError(
        'VIGIL_ERR_STORE_UNAVAILABLE',
        `cannot open PGlite ${options.dataDir === undefined ? 'in memory' : `data directory ${options.dataDir}`}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
  const sql = driver(db, release);
  try {
    await db.exec(`SET search_path TO ${schema}, public`);
    const store = await openSqlStore(sql, { ...options, ownsDriver: true });
    // Migrated and nothing else written yet: the next new directory starts from here.
    await saveAfterMigrating?.();
    return store;
  } catch (error) {
    await sql.close();
    throw error;
  }
}
