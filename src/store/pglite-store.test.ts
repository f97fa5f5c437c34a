import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { VigilError } from '../errors.js';
import { openStore } from './open-store.js';
import { openPGliteStore } from './pglite-store.js';
import { BASE, commit, storeSuite } from './store-suite.js';

storeSuite(
  'PGlite in memory',
  async () => {
    const db = await PGlite.create();
    const store = await openPGliteStore({ db });
    return {
      store,
      sql: async (text) => (await db.query<Record<string, unknown>>(text)).rows,
      reopen: (options) => openPGliteStore({ db, ...options }),
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  },
  { timescale: false, backend: 'pglite' },
);

describe('PGlite data directory', () => {
  it('keeps points across close and reopen, and refuses a second opener', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-pglite-'));
    const dataDir = join(dir, 'data');
    try {
      const first = await openStore({ dataDir });
      assert.equal(first.info.backend, 'pglite');
      await commit(first, { devices: ['d'], metrics: ['m'], times: [BASE], values: [1.5] });
      await assert.rejects(openStore({ dataDir }), (error: unknown) => {
        assert.ok(error instanceof VigilError);
        assert.equal(error.code, 'VIGIL_ERR_STORE_UNAVAILABLE');
        assert.match(error.message, new RegExp(`in use by process ${process.pid}`));
        return true;
      });
      await first.close();

      // A lock left behind by a process that no longer exists is taken over.
      await writeFile(`${dataDir}.lock`, '2147483646');
      const second = await openStore({ dataDir });
      assert.equal(await readFile(`${dataDir}.lock`, 'utf8'), String(process.pid));
      const back = await second.querier.points({
        device: 'd',
        metric: 'm',
        from: BASE,
        to: BASE + 1,
      });
      assert.deepEqual([...back.times], [BASE]);
      await second.close();
      await assert.rejects(readFile(`${dataDir}.lock`), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('openStore without a URL or directory is an in-memory PGlite', async () => {
    const store = await openStore({ schema: 'vigil' });
    assert.equal(store.info.backend, 'pglite');
    assert.equal(store.info.schema, 'vigil');
    await store.close();
  });
});
