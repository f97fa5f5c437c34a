/**
 * Stores on the test PostgreSQL, each in a schema of its own (much quicker to open than PGlite),
 * all dropped when the test file ends.
 */
import { after } from 'node:test';
import pg from 'pg';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';

const PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * Registers the file's `after` that drops the schemas, and returns the opener of a store in a new
 * one, named `<prefix>_<pid>_<time>_<n>` so runs side by side never meet.
 */
export function storesInThrowawaySchemas(prefix: string): () => Promise<Store> {
  const run = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const schemas: string[] = [];
  after(async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      for (const schema of schemas) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await c.end();
    }
  });
  return async () => {
    const schema = `${run}_${schemas.length}`;
    schemas.push(schema);
    return openStore({ databaseUrl: PG_URL, schema, timescale: 'off' });
  };
}
