import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { VigilError } from '../errors.js';
import { migrations, SCHEMA_VERSION } from './migrations/index.js';
import { openStore } from './open-store.js';
import { openPostgresStore, postgresDriver, redactUrl } from './postgres-store.js';
import type { Store } from './store.js';
import { storeSuite } from './store-suite.js';
import { detectTimescale, type DetectionHooks } from './timescale-detect.js';

/**
 * Runs against the real PostgreSQL server (CI starts it: .ci/run). Every run works in schemas of
 * its own and drops them, so parallel runs do not collide. An unreachable server FAILS the run.
 */
const URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const RUN = `vigil_test_${process.pid}_${Date.now().toString(36)}`;

async function client(schema?: string): Promise<pg.Client> {
  const c = new pg.Client({
    connectionString: URL,
    connectionTimeoutMillis: 5000,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema},public` }),
  });
  try {
    await c.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${redactUrl(URL)} (${(error as Error).message}). ` +
        'The storage tests need it: start it with ' +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
        '(as .ci/run does) or point VIGIL_TEST_DATABASE_URL at a server.',
      { cause: error },
    );
  }
  return c;
}

const BASE_MS = Date.UTC(2026, 0, 1);

async function commit1(store: Store) {
  const appender = store.appender();
  appender.append({ devices: ['d'], metrics: ['m'], times: [BASE_MS], values: [1] });
  return appender.commit();
}

async function dropSchema(schema: string): Promise<void> {
  const c = await client();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

storeSuite(
  'PostgreSQL server',
  async () => {
    const schema = `${RUN}_suite`;
    const raw = await client(schema); // fails the suite, clearly, when the server is down
    const store = await openPostgresStore({ databaseUrl: URL, schema });
    return {
      store,
      sql: async (text) => (await raw.query<Record<string, unknown>>(text)).rows,
      reopen: (options) => openPostgresStore({ databaseUrl: URL, schema, ...options }),
      close: async () => {
        await store.close();
        await raw.end();
        await dropSchema(schema);
      },
    };
  },
  { timescale: false, backend: 'postgres' },
);

describe('PostgreSQL specifics', () => {
  const schemas: string[] = [];
  const schema = (name: string): string => {
    schemas.push(`${RUN}_${name}`);
    return `${RUN}_${name}`;
  };
  before(async () => {
    await (await client()).end();
  });
  after(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  it('concurrent openers of a new schema migrate it exactly once', async () => {
    const s = schema('race');
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => openStore({ databaseUrl: URL, schema: s })),
    );
    try {
      assert.ok(stores.every((st) => st.info.schemaVersion === SCHEMA_VERSION));
      const c = await client(s);
      const rows = (await c.query('SELECT version FROM schema_migrations ORDER BY 1')).rows;
      await c.end();
      assert.deepEqual(
        rows.map((r: { version: number }) => r.version),
        migrations.map((m) => m.version),
      );
    } finally {
      await Promise.all(stores.map((st) => st.close()));
    }
  });

  it('refuses a schema migrated by a newer Vigil', async () => {
    const s = schema('newer');
    await (await openPostgresStore({ databaseUrl: URL, schema: s })).close();
    const c = await client(s);
    await c.query(
      `INSERT INTO schema_migrations (version, name, variant) VALUES (99, 'future', 'plain')`,
    );
    await c.end();
    await assert.rejects(openPostgresStore({ databaseUrl: URL, schema: s }), (error: unknown) => {
      assert.ok(error instanceof VigilError);
      assert.equal(error.code, 'VIGIL_ERR_STORE_SCHEMA');
      assert.match(error.message, /version 99, newer/);
      return true;
    });
  });

  it('fails clearly when TimescaleDB is required but missing, leaving no schema behind', async () => {
    const s = schema('require');
    await assert.rejects(
      openPostgresStore({ databaseUrl: URL, schema: s, timescale: 'require' }),
      (error: unknown) => error instanceof VigilError && error.code === 'VIGIL_ERR_STORE_SCHEMA',
    );
    const c = await client();
    const found = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [s]);
    await c.end();
    assert.equal(found.rowCount, 0);
  });

  /**
   * Ends the detection's own connection from another one, the way a server without the preloaded
   * library ends it (FATAL, then the socket closes), and waits until that backend is gone.
   */
  const endDetectionAt = (at: string): DetectionHooks => ({
    beforeStep: async (step, session) => {
      if (step !== at) return;
      const { rows } = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const killer = await client();
      try {
        await killer.query('SELECT pg_terminate_backend($1, 5000)', [rows[0]!.pid]);
      } finally {
        await killer.end();
      }
    },
  });

  it('TimescaleDB detection: a server without the extension is "not offered"', async () => {
    const pool = new pg.Pool({ connectionString: URL, max: 1 });
    const driver = postgresDriver(pool, { connectionString: URL });
    try {
      const found = await detectTimescale(driver);
      assert.deepEqual(found, {
        usable: false,
        offered: false,
        version: null,
        reason: 'the server does not offer the timescaledb extension',
      });
    } finally {
      await driver.close();
    }
    const notes: string[] = [];
    const s = schema('plainnote');
    const store = await openPostgresStore({
      databaseUrl: URL,
      schema: s,
      log: (m) => notes.push(m),
    });
    try {
      assert.equal(store.info.timescale, false);
      assert.match(store.info.timescaleNote ?? '', /does not offer/);
      assert.deepEqual(notes, []);
    } finally {
      await store.close();
    }
  });

  it('TimescaleDB detection: a connection the server ends mid-detection means "not usable", never a crash', async () => {
    const pool = new pg.Pool({ connectionString: URL, max: 1 });
    const driver = postgresDriver(pool, { connectionString: URL });
    try {
      const found = await detectTimescale(driver, endDetectionAt('facts'));
      assert.equal(found.usable, false);
      assert.equal(found.offered, null);
      assert.match(found.reason ?? '', /^TimescaleDB detection failed \(facts\): /);
      // The pool never saw it.
      assert.deepEqual((await driver.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      await driver.close();
    }
    // auto: the store opens plain and says why, in a log line and in its info.
    const notes: string[] = [];
    const s = schema('ended');
    const store = await openPostgresStore({
      databaseUrl: URL,
      schema: s,
      log: (m) => notes.push(m),
      detectionHooks: endDetectionAt('facts'),
    });
    try {
      assert.equal(store.info.timescale, false);
      assert.equal(notes.length, 1);
      assert.match(
        notes[0]!,
        /^TimescaleDB not used, points stored in plain PostgreSQL tables: TimescaleDB detection failed \(facts\)/,
      );
      assert.equal((await commit1(store)).inserted, 1);
    } finally {
      await store.close();
    }
    // require: a clear refusal naming the cause.
    await assert.rejects(
      openPostgresStore({
        databaseUrl: URL,
        schema: schema('endedreq'),
        timescale: 'require',
        detectionHooks: endDetectionAt('facts'),
      }),
      (error: unknown) => {
        assert.ok(error instanceof VigilError);
        assert.equal(error.code, 'VIGIL_ERR_STORE_SCHEMA');
        assert.match(
          error.message,
          /TimescaleDB is required but cannot be used: TimescaleDB detection failed \(facts\)/,
        );
        return true;
      },
    );
  });

  it('refuses a schema created with TimescaleDB on a server that cannot load it now', async () => {
    const s = schema('wasts');
    const c = await client();
    try {
      // As a dump of a TimescaleDB schema restored on a server without the extension leaves it.
      await c.query(`CREATE SCHEMA ${s}`);
      await c.query(`CREATE TABLE ${s}.schema_migrations (version integer PRIMARY KEY,
        name text NOT NULL, variant text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await c.query(
        `INSERT INTO ${s}.schema_migrations (version, name, variant) VALUES (1, 'core', 'timescaledb')`,
      );
    } finally {
      await c.end();
    }
    await assert.rejects(openPostgresStore({ databaseUrl: URL, schema: s }), (error: unknown) => {
      assert.ok(error instanceof VigilError);
      assert.equal(error.code, 'VIGIL_ERR_STORE_SCHEMA');
      assert.match(
        error.message,
        /keeps its points in a TimescaleDB hypertable, but the server cannot use TimescaleDB now: the server does not offer/,
      );
      return true;
    });
  });

  it('a connection the server ends during a commit fails that commit, not the process', async () => {
    const s = schema('killed');
    const store = await openPostgresStore({ databaseUrl: URL, schema: s, timescale: 'off' });
    const blocker = await client(s);
    try {
      const appender = store.appender();
      appender.append({ devices: ['k'], metrics: ['m'], times: [BASE_MS], values: [1] });
      // Hold the series catalogue, so the commit waits inside its transaction.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE series IN ACCESS EXCLUSIVE MODE');
      const mine = (await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      // Its failure is awaited below; held from the start so it is never an unhandled rejection.
      const failure = appender.commit().then(
        () => undefined,
        (error: unknown) => error,
      );
      let victim: number | undefined;
      while (victim === undefined) {
        const r = await blocker.query(
          'SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))',
          [mine],
        );
        victim = r.rows[0]?.pid as number | undefined;
        if (victim === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      // With a timeout the call returns once that backend has exited, so the signal cannot land
      // on a later connection that happens to reuse nothing but timing.
      const ended = await blocker.query('SELECT pg_terminate_backend($1, 5000) AS ok', [victim]);
      assert.equal(ended.rows[0].ok, true, 'the blocked backend exited');
      const error = await failure;
      assert.ok(error instanceof VigilError, `the commit failed: ${String(error)}`);
      assert.equal(error.code, 'VIGIL_ERR_STORE_UNAVAILABLE');
      await blocker.query('ROLLBACK');
      // Nothing was stored; the same appender retries on a fresh connection.
      assert.equal((await appender.commit()).inserted, 1);
    } finally {
      await blocker.end();
      await store.close();
    }
  });

  it('reports an unreachable server as VIGIL_ERR_STORE_UNAVAILABLE without the password', async () => {
    await assert.rejects(
      openPostgresStore({
        databaseUrl: 'postgresql://vigil:secret@127.0.0.1:1/none',
        connectTimeoutMs: 2000,
      }),
      (error: unknown) => {
        assert.ok(error instanceof VigilError);
        assert.equal(error.code, 'VIGIL_ERR_STORE_UNAVAILABLE');
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
  });
});
