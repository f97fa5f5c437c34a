import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { VigilError } from '../errors.js';
import { migrations, SCHEMA_VERSION } from './migrations/index.js';
import { openStore } from './open-store.js';
import { openPostgresStore, redactUrl } from './postgres-store.js';
import { storeSuite } from './store-suite.js';

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
