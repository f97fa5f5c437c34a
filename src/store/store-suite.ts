/**
 * The conformance suite every store backend passes (PGlite, PostgreSQL, PGlite + TimescaleDB):
 * the contracts of store.ts checked through the public API only, plus raw SQL where a test must
 * look underneath (stored tags, migration rows) or break something on purpose.
 * Not a test file itself: each backend's *.test.ts calls `storeSuite`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileStrategy } from '../core/strategy/compile.js';
import { resolveStrategy } from '../strategy-files/load.js';
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import { Rng } from '../core/stats/rng.js';
import { VigilError } from '../errors.js';
import { MAX_TIME, MIN_TIME } from './copy-text.js';
import { migrations, SCHEMA_VERSION } from './migrations/index.js';
import type {
  BucketedPoints,
  EventsQuery,
  PointBatch,
  RawPoints,
  Store,
  StoredEvent,
  StoreOptions,
} from './store.js';

export interface Harness {
  readonly store: Store;
  /** Raw SQL in the store's schema. */
  sql(text: string): Promise<Record<string, unknown>[]>;
  /** A second store on the same database and schema (runs the migrations again). */
  reopen(options?: StoreOptions): Promise<Store>;
  /** Close everything and remove what the run created. */
  close(): Promise<void>;
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/**
 * Test data starts two days ago at midnight UTC: inside the default 30-day retention and old
 * enough for the 24-hour compression policy to compress it.
 */
export const BASE = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;

export interface Column {
  devices: string[];
  metrics: string[];
  times: number[];
  values: number[];
}

export function column(): Column {
  return { devices: [], metrics: [], times: [], values: [] };
}

export function push(c: Column, device: string, metric: string, time: number, value: number) {
  c.devices.push(device);
  c.metrics.push(metric);
  c.times.push(time);
  c.values.push(value);
}

/** Irregular points of one series: gaps, bursts, a few NaN values; seeded. */
export function irregularSeries(
  device: string,
  metric: string,
  start: number,
  span: number,
  seed: number,
): Column {
  const rng = Rng.fromSeed(seed);
  const c = column();
  for (let t = start; t < start + span; t += 1 + rng.int(rng.next() < 0.05 ? 600_000 : 20_000)) {
    const value = rng.next() < 0.01 ? NaN : 50 + 20 * Math.sin(t / 3_600_000) + rng.uniform(-5, 5);
    push(c, device, metric, t, value);
  }
  return c;
}

export async function commit(store: Store, ...batches: PointBatch[]) {
  const appender = store.appender();
  for (const batch of batches) appender.append(batch);
  return appender.commit();
}

export interface ExpectedBucket {
  time: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

/** What down-sampling must return, computed in JavaScript from the points themselves. */
export function expectedBuckets(
  c: Column,
  from: number,
  to: number,
  bucketMs: number,
): ExpectedBucket[] {
  const start = Math.floor(from / bucketMs) * bucketMs;
  const end = Math.ceil(to / bucketMs) * bucketMs;
  const buckets = new Map<number, ExpectedBucket>();
  c.times.forEach((t, i) => {
    if (t < start || t >= end) return;
    const time = Math.floor(t / bucketMs) * bucketMs;
    let b = buckets.get(time);
    if (b === undefined) {
      b = { time, min: Infinity, max: -Infinity, sum: 0, count: 0 };
      buckets.set(time, b);
    }
    const v = c.values[i]!;
    if (Number.isFinite(v)) {
      b.min = Math.min(b.min, v);
      b.max = Math.max(b.max, v);
      b.sum += v;
      b.count++;
    }
  });
  return [...buckets.values()].sort((a, b) => a.time - b.time);
}

export function assertBuckets(actual: BucketedPoints, expected: ExpectedBucket[], label: string) {
  assert.deepEqual(
    [...actual.times],
    expected.map((b) => b.time),
    `${label}: bucket times`,
  );
  expected.forEach((b, i) => {
    const at = `${label}: bucket ${new Date(b.time).toISOString()}`;
    assert.equal(actual.count[i], b.count, `${at}: count`);
    if (b.count === 0) {
      assert.ok(Number.isNaN(actual.min[i]) && Number.isNaN(actual.avg[i]), `${at}: NaN stats`);
      return;
    }
    assert.equal(actual.min[i], b.min, `${at}: min`);
    assert.equal(actual.max[i], b.max, `${at}: max`);
    const avg = b.sum / b.count;
    assert.ok(Math.abs(actual.avg[i]! - avg) <= 1e-9 * Math.max(1, Math.abs(avg)), `${at}: avg`);
  });
}

function raw(result: RawPoints | BucketedPoints): RawPoints {
  assert.equal(result.kind, 'raw');
  return result as RawPoints;
}

export function buckets(result: RawPoints | BucketedPoints): BucketedPoints {
  assert.equal(result.kind, 'buckets');
  return result as BucketedPoints;
}

function rejectsWith(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof VigilError, `expected a VigilError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

async function count(h: Harness, where: string): Promise<number> {
  const rows = await h.sql(`SELECT count(*)::int AS n FROM points WHERE ${where}`);
  return rows[0]!.n as number;
}

function event(id: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    id,
    device: 'ev-pump-1',
    metric: 'pressure',
    strategy: 'default',
    strategyVersion: 1,
    start: BASE + 10 * MINUTE,
    end: BASE + 20 * MINUTE,
    peak: { time: BASE + 15 * MINUTE, score: 0.93, values: { pressure: 7.25 } },
    level: 'alert',
    points: 12,
    explanation: {
      metrics: [{ name: 'pressure', share: 1, observed: 7.25, band: [1.5, 3.25] }],
      detectors: [{ name: 'extreme-value/upper-tail', score: 0.93 }],
    },
    ...overrides,
  };
}

export function storeSuite(
  name: string,
  open: () => Promise<Harness>,
  expect: { readonly timescale: boolean; readonly backend: 'pglite' | 'postgres' },
): void {
  describe(name, () => {
    let h: Harness;
    before(async () => {
      h = await open();
    });
    after(async () => {
      await h?.close();
    });

    it('opens migrated, on the expected backend', () => {
      assert.equal(h.store.info.backend, expect.backend);
      assert.equal(h.store.info.timescale, expect.timescale);
      assert.equal(h.store.info.schemaVersion, SCHEMA_VERSION);
    });

    it('migrations: opening again applies nothing and keeps the data', async () => {
      await commit(h.store, { devices: ['mig'], metrics: ['m'], times: [BASE], values: [1] });
      const before = await h.sql('SELECT version, name, variant FROM schema_migrations ORDER BY 1');
      assert.equal(before.length, migrations.length);
      assert.ok(before.every((r) => r.variant === (expect.timescale ? 'timescaledb' : 'plain')));
      const second = await h.reopen();
      try {
        assert.equal(second.info.schemaVersion, SCHEMA_VERSION);
        assert.equal(second.info.timescale, expect.timescale);
        assert.deepEqual(
          await h.sql('SELECT version, name, variant FROM schema_migrations ORDER BY 1'),
          before,
        );
        assert.equal(await count(h, `device_id = 'mig'`), 1);
      } finally {
        await second.close();
      }
    });

    it('commits a batch and reads back the same points, tags and NULL values included', async () => {
      const c = irregularSeries('rt-1', 'temp', BASE, 6 * HOUR, 1);
      const tags = c.times.map((_, i) => (i % 2 === 0 ? { site: 'plant-\t"7"' } : undefined));
      const result = await commit(h.store, { ...c, times: Float64Array.from(c.times), tags });
      assert.deepEqual(result, { points: c.times.length, inserted: c.times.length });
      const back = raw(
        await h.store.querier.points({
          device: 'rt-1',
          metric: 'temp',
          from: BASE,
          to: BASE + DAY,
        }),
      );
      assert.deepEqual([...back.times], c.times);
      assert.deepEqual([...back.values], c.values); // NaN equals NaN under deepEqual
      assert.equal(back.truncated, false);
      const tagged = await h.sql(
        `SELECT tags FROM points WHERE device_id = 'rt-1' AND tags IS NOT NULL LIMIT 1`,
      );
      assert.deepEqual(tagged[0]!.tags, { site: 'plant-\t"7"' });
    });

    it('is idempotent: the same batch twice, or repeated within a batch, is stored once', async () => {
      const c = irregularSeries('idem-1', 'flow', BASE, 2 * HOUR, 2);
      const first = await commit(h.store, c);
      const second = await commit(h.store, c, c);
      assert.equal(first.inserted, c.times.length);
      assert.deepEqual(second, { points: 2 * c.times.length, inserted: 0 });
      assert.equal(await count(h, `device_id = 'idem-1'`), c.times.length);
      // Same key, another value: the first committed value wins.
      const t = c.times[3]!;
      const changed = await commit(h.store, {
        devices: ['idem-1', 'idem-1', 'idem-1'],
        metrics: ['flow', 'flow', 'flow'],
        times: [t, t, BASE - 1],
        values: [-1, 42, 5],
      });
      assert.deepEqual(changed, { points: 3, inserted: 1 });
      const back = raw(
        await h.store.querier.points({ device: 'idem-1', metric: 'flow', from: t, to: t + 1 }),
      );
      assert.deepEqual([...back.values], [c.values[3]]);
    });

    it('stores times across the whole supported range exactly, BC and five-digit years included', async () => {
      const times = [
        MIN_TIME,
        Date.UTC(-1, 5, 1, 12), // 2 BC
        -62_135_596_800_001, // the last ms of 1 BC
        -62_135_596_800_000, // 0001-01-01
        BASE + 1,
        253_402_300_799_999, // 9999-12-31T23:59:59.999Z
        253_402_300_800_000, // 10000-01-01
        MAX_TIME,
      ];
      const result = await commit(h.store, {
        devices: times.map(() => 'range-1'),
        metrics: times.map(() => 'm'),
        times,
        values: times.map((_, i) => i),
      });
      assert.deepEqual(result, { points: times.length, inserted: times.length });
      // The range API's end is exclusive and can't pass MAX_TIME: read the table itself.
      const back = await h.sql(
        `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, value FROM points
         WHERE device_id = 'range-1' ORDER BY time`,
      );
      assert.deepEqual(
        back.map((r) => r.t),
        times,
      );
      assert.deepEqual(
        back.map((r) => r.value),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
      const [series] = await h.store.querier.series('range-1');
      assert.equal(series?.first, MIN_TIME);
      assert.equal(series?.last, MAX_TIME);
    });

    it('after a resent batch, new points keep being stored and counted exactly', async () => {
      const c = irregularSeries('resend-1', 'm', BASE, HOUR, 5);
      await commit(h.store, c);
      assert.equal((await commit(h.store, c)).inserted, 0);
      // More writes than the store sends through staging after a conflict, all of new points.
      for (let k = 1; k <= 40; k++) {
        const next = irregularSeries('resend-1', 'm', BASE + k * DAY, HOUR, 5 + k);
        assert.equal((await commit(h.store, next)).inserted, next.times.length, `write ${k}`);
      }
      const mixed = irregularSeries('resend-1', 'm', BASE + 41 * DAY, HOUR, 99);
      push(mixed, 'resend-1', 'm', c.times[0]!, 1);
      assert.equal((await commit(h.store, mixed)).inserted, mixed.times.length - 1);
    });

    it('rollback stores nothing, and an appender is single-use', async () => {
      const appender = h.store.appender();
      appender.append(irregularSeries('rb-1', 'm', BASE, HOUR, 3));
      assert.ok(appender.pending > 0);
      appender.rollback();
      assert.equal(appender.pending, 0);
      await assert.rejects(appender.commit(), rejectsWith('VIGIL_ERR_STORE_WRITE'));
      assert.throws(() => appender.append(column()), rejectsWith('VIGIL_ERR_STORE_WRITE'));
      assert.equal(await count(h, `device_id = 'rb-1'`), 0);
      const committed = h.store.appender();
      assert.deepEqual(await committed.commit(), { points: 0, inserted: 0 });
      await assert.rejects(committed.commit(), rejectsWith('VIGIL_ERR_STORE_WRITE'));
    });

    it('a commit that fails half-way stores nothing, and can be retried', async () => {
      // The points go in first; the series catalogue then refuses the poisoned device.
      await h.sql(`ALTER TABLE series ADD CONSTRAINT test_poison CHECK (device_id <> 'poison')`);
      const c = irregularSeries('fine-1', 'm', BASE, HOUR, 4);
      push(c, 'poison', 'm', BASE, 1);
      const appender = h.store.appender();
      appender.append(c);
      try {
        await assert.rejects(appender.commit(), rejectsWith('VIGIL_ERR_STORE_WRITE'));
        assert.equal(await count(h, `device_id IN ('fine-1', 'poison')`), 0);
        assert.deepEqual(await h.store.querier.series('fine-1'), []);
        assert.equal(appender.pending, c.times.length);
      } finally {
        await h.sql('ALTER TABLE series DROP CONSTRAINT test_poison');
      }
      // Once the cause is gone, the same appender commits the same points.
      assert.deepEqual(await appender.commit(), {
        points: c.times.length,
        inserted: c.times.length,
      });
      assert.equal(await count(h, `device_id IN ('fine-1', 'poison')`), c.times.length);
    });

    it('rejects malformed batches naming the row, and keeps nothing of them', () => {
      const appender = h.store.appender();
      const bad: [PointBatch, RegExp][] = [
        [{ devices: ['a'], metrics: ['m'], times: [1, 2], values: [1] }, /differ in length/],
        [
          { devices: ['a', ''], metrics: ['m', 'm'], times: [1, 2], values: [1, 2] },
          /row 1: device/,
        ],
        [{ devices: ['a'], metrics: ['m'], times: [1.5], values: [1] }, /row 0: time/],
        [{ devices: ['a'], metrics: ['m'], times: [NaN], values: [1] }, /row 0: time/],
        [{ devices: ['a'], metrics: ['x'.repeat(201)], times: [1], values: [1] }, /row 0: metric/],
        [{ devices: ['a\0'], metrics: ['m'], times: [1], values: [1] }, /NUL/],
      ];
      for (const [batch, message] of bad) {
        assert.throws(
          () => appender.append(batch),
          (error: unknown) => {
            rejectsWith('VIGIL_ERR_STORE_INVALID')(error);
            assert.match((error as Error).message, message);
            return true;
          },
        );
      }
      assert.equal(appender.pending, 0);
      appender.rollback();
    });

    it('lists devices and series with their time span', async () => {
      await commit(h.store, {
        devices: ['ls-b', 'ls-a', 'ls-a', 'ls-a'],
        metrics: ['x', 'y', 'x', 'x'],
        times: [BASE + 5, BASE + 7, BASE + 9, BASE + 1],
        values: [1, 2, 3, 4],
      });
      const devices = await h.store.querier.devices();
      assert.deepEqual(
        devices.filter((d) => d.startsWith('ls-')),
        ['ls-a', 'ls-b'],
      );
      assert.deepEqual(devices, [...devices].sort());
      assert.deepEqual(await h.store.querier.series('ls-a'), [
        { device: 'ls-a', metric: 'x', first: BASE + 1, last: BASE + 9 },
        { device: 'ls-a', metric: 'y', first: BASE + 7, last: BASE + 7 },
      ]);
    });

    it('pages devices by key, searched case-insensitively, stable under inserts', async () => {
      const c = column();
      // 25 devices whose names hold "PgFleet"; decoys without it must never be listed.
      for (let i = 0; i < 25; i++) push(c, `z-PgFleet-${String(i).padStart(2, '0')}`, 'm', BASE, i);
      push(c, 'z-pgflee-decoy', 'm', BASE, 0);
      await commit(h.store, c);
      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await h.store.querier.devicePage({ limit: 10, q: 'pgfleet', after });
        pages.push(page.items);
        if (!page.more) break;
        after = page.items[page.items.length - 1];
        if (pages.length === 1) {
          // Inserted behind the cursor (not seen) and ahead of it (seen once).
          const late = column();
          push(late, 'z-PgFleet-00a', 'm', BASE, 1);
          push(late, 'z-PgFleet-99', 'm', BASE, 1);
          await commit(h.store, late);
        }
      }
      assert.deepEqual(
        pages.map((p) => p.length),
        [10, 10, 6],
      );
      const all = pages.flat();
      assert.equal(new Set(all).size, all.length);
      assert.ok(!all.includes('z-PgFleet-00a'));
      assert.equal(all[all.length - 1], 'z-PgFleet-99');
      assert.deepEqual(all, [...all].sort());
      const substring = await h.store.querier.devicePage({ q: 'LEET-2', limit: 100 });
      assert.deepEqual(substring.items, [
        'z-PgFleet-20',
        'z-PgFleet-21',
        'z-PgFleet-22',
        'z-PgFleet-23',
        'z-PgFleet-24',
      ]);
      assert.equal(substring.more, false);
      await assert.rejects(h.store.querier.devicePage({ limit: 0 }), /limit/);
    });

    it('filters devices and series by tag (merged per series, the newest value winning)', async () => {
      const at = (site: string | undefined, line?: string) =>
        site === undefined ? undefined : { site, ...(line === undefined ? {} : { line }) };
      const batch = (rows: [string, string, number, ReturnType<typeof at>][]): PointBatch => ({
        devices: rows.map((r) => r[0]),
        metrics: rows.map((r) => r[1]),
        times: rows.map((r) => r[2]),
        values: rows.map(() => 1),
        tags: rows.map((r) => r[3]),
      });
      await commit(
        h.store,
        batch([
          ['z-tag-a', 'temp', BASE, at('north', '1')],
          ['z-tag-a', 'flow', BASE, at('north')],
          ['z-tag-b', 'temp', BASE, at('south')],
          ['z-tag-c', 'temp', BASE, undefined],
        ]),
      );
      // A later point moves z-tag-b to the north site; its other tag stays.
      await commit(h.store, batch([['z-tag-b', 'temp', BASE + 1, at('north', '2')]]));
      const north = { key: 'site', value: 'north' };
      assert.deepEqual((await h.store.querier.devicePage({ q: 'z-tag-', tag: north })).items, [
        'z-tag-a',
        'z-tag-b',
      ]);
      const south = await h.store.querier.devicePage({
        q: 'z-tag-',
        tag: { key: 'site', value: 'south' },
      });
      assert.deepEqual(south.items, []);
      const line2 = await h.store.querier.seriesPage({ tag: { key: 'line', value: '2' } });
      assert.deepEqual(
        line2.items.map((x) => `${x.device}/${x.metric}`),
        ['z-tag-b/temp'],
      );
      const northSeries = await h.store.querier.seriesPage({ q: 'z-tag-', tag: north, limit: 2 });
      assert.deepEqual(
        northSeries.items.map((x) => `${x.device}/${x.metric}`),
        ['z-tag-a/flow', 'z-tag-a/temp'],
      );
      assert.equal(northSeries.more, true);
    });

    it('pages series by (device, metric), of one device or searched by metric', async () => {
      const c = column();
      for (const d of ['z-ps-a', 'z-ps-b']) {
        for (const m of ['cpu', 'disk', 'mem']) push(c, d, m, BASE + 1, 1);
      }
      await commit(h.store, c);
      const first = await h.store.querier.seriesPage({ limit: 4, q: 'z-ps-' });
      assert.deepEqual(
        first.items.map((s) => `${s.device}/${s.metric}`),
        ['z-ps-a/cpu', 'z-ps-a/disk', 'z-ps-a/mem', 'z-ps-b/cpu'],
      );
      assert.equal(first.more, true);
      assert.deepEqual(first.items[0], {
        device: 'z-ps-a',
        metric: 'cpu',
        first: BASE + 1,
        last: BASE + 1,
      });
      const rest = await h.store.querier.seriesPage({
        limit: 4,
        q: 'z-ps-',
        after: { device: 'z-ps-b', metric: 'cpu' },
      });
      assert.deepEqual(
        rest.items.map((s) => `${s.device}/${s.metric}`),
        ['z-ps-b/disk', 'z-ps-b/mem'],
      );
      assert.equal(rest.more, false);
      const ofB = await h.store.querier.seriesPage({ device: 'z-ps-b', q: 'M' });
      assert.deepEqual(
        ofB.items.map((s) => s.metric),
        ['mem'],
      );
      const listed = await h.store.querier.seriesPage({ devices: ['z-ps-b', 'z-ps-none'] });
      assert.deepEqual(
        listed.items.map((s) => `${s.device}/${s.metric}`),
        ['z-ps-b/cpu', 'z-ps-b/disk', 'z-ps-b/mem'],
      );
      const counts = await h.store.querier.counts();
      const everything = await h.store.querier.series();
      assert.equal(counts.series, everything.length);
      assert.equal(counts.devices, new Set(everything.map((s) => s.device)).size);
    });

    it('keeps score history buckets: the higher score and level win, newest per series', async () => {
      const history = h.store.scoreHistory;
      await history.save([
        { device: 'z-sh', metric: 'm', time: BASE, score: 1.5, level: 0 },
        { device: 'z-sh', metric: 'm', time: BASE + MINUTE, score: 7, level: 2 },
        { device: 'z-sh', metric: 'm', time: BASE + MINUTE, score: 3, level: 1 },
        { device: 'z-sh', metric: 'n', time: BASE, score: 0.5, level: 0 },
      ]);
      await history.save([
        { device: 'z-sh', metric: 'm', time: BASE, score: 4.25, level: 1 },
        { device: 'z-sh', metric: 'm', time: BASE + MINUTE, score: 2, level: 0 },
      ]);
      assert.deepEqual(await history.range('z-sh', 'm', BASE, BASE + HOUR), [
        { device: 'z-sh', metric: 'm', time: BASE, score: 4.25, level: 1 },
        { device: 'z-sh', metric: 'm', time: BASE + MINUTE, score: 7, level: 2 },
      ]);
      assert.deepEqual(await history.range('z-sh', 'm', BASE + 1, BASE + MINUTE), []);
      const latest = await history.latest([
        { device: 'z-sh', metric: 'm' },
        { device: 'z-sh', metric: 'n' },
        { device: 'z-sh', metric: 'none' },
      ]);
      assert.deepEqual(
        latest.map((b) => [b.metric, b.time, b.score]),
        [
          ['m', BASE + MINUTE, 7],
          ['n', BASE, 0.5],
        ],
      );
    });

    it('keeps the alert threshold of a bucket: the first stays, bad bounds as none', async () => {
      const history = h.store.scoreHistory;
      const b = (time: number, threshold?: readonly [number, number]) => ({
        device: 'z-th',
        metric: 'm',
        time: BASE + time * MINUTE,
        score: 0.25,
        level: 0,
        ...(threshold === undefined ? {} : { threshold }),
      });
      await history.save([
        b(0, [1.5, 4.25]),
        b(1), // no band (warming up, or a detector without one)
        b(2, [Number.NaN, 3]),
        b(3, [-Infinity, Infinity]),
        b(4, [5, 2]), // out of order
        b(5, [-1e39, 1e39]), // beyond a real
        b(6, [-1e-45, 1e-50]), // below a real's normal range: 0
        b(7, [-2, 8]),
      ]);
      // A later save of the same minutes: the first threshold stays, an empty one is filled.
      await history.save([b(0, [100, 200]), b(1, [0.5, 0.75]), { ...b(7), score: 0.9, level: 1 }]);
      const got = await history.range('z-th', 'm', BASE, BASE + HOUR);
      assert.deepEqual(
        got.map((x) => [(x.time - BASE) / MINUTE, x.threshold ?? null, x.score]),
        [
          [0, [1.5, 4.25], 0.25],
          [1, [0.5, 0.75], 0.25],
          [2, null, 0.25],
          [3, null, 0.25],
          [4, null, 0.25],
          [5, null, 0.25],
          [6, [0, 0], 0.25],
          [7, [-2, 8], 0.8999999761581421],
        ],
      );
      const [latest] = await history.latest([{ device: 'z-th', metric: 'm' }]);
      assert.deepEqual(latest?.threshold, [-2, 8]);
    });

    it('keeps metric units: declared, replaced, listed in order, removed', async () => {
      const units = h.store.metricUnits;
      const first = await units.set('zu-temp', '°F', null);
      assert.equal(first.unit, '°F');
      const replaced = await units.set('zu-temp', '°C', 'bearing temperature');
      assert.ok(replaced.updatedAt >= first.updatedAt);
      await units.set('zu-a/b', 'kPa', null);
      const listed = (await units.list()).filter((u) => u.metric.startsWith('zu-'));
      assert.deepEqual(
        listed.map((u) => [u.metric, u.unit, u.description]),
        [
          ['zu-a/b', 'kPa', null],
          ['zu-temp', '°C', 'bearing temperature'],
        ],
      );
      assert.equal(await units.remove('zu-a/b'), true);
      assert.equal(await units.remove('zu-a/b'), false);
      assert.deepEqual(
        (await units.list()).filter((u) => u.metric.startsWith('zu-')).map((u) => u.metric),
        ['zu-temp'],
      );
    });

    it('metric units: the config file over the API, metadata never over either', async () => {
      const units = h.store.metricUnits;
      const mine = async () =>
        (await units.list())
          .filter((u) => u.metric.startsWith('zs-'))
          .map((u) => [u.metric, u.unit, u.source]);
      await units.set('zs-a', '°F', null);
      assert.equal(await units.setInferred('zs-a', 'K', null), false);
      assert.equal(await units.setInferred('zs-m', 's', 'help'), true);
      assert.equal(await units.setInferred('zs-m', 'ms', null), true);
      const replaced = await units.applyConfig(
        new Map([
          ['zs-a', { unit: '°C', description: null }],
          ['zs-c', { unit: 'bar', description: 'inlet' }],
        ]),
      );
      assert.deepEqual(replaced, [{ metric: 'zs-a', unit: '°F', source: 'api' }]);
      assert.equal(await units.setInferred('zs-c', 'Pa', null), false);
      assert.deepEqual(await mine(), [
        ['zs-a', '°C', 'config'],
        ['zs-c', 'bar', 'config'],
        ['zs-m', 'ms', 'metadata'],
      ]);
      // Listed no more: the config's own rows go, the metadata one stays.
      assert.deepEqual(await units.applyConfig(new Map()), []);
      assert.deepEqual(await mine(), [['zs-m', 'ms', 'metadata']]);
      await units.remove('zs-m');
    });

    it('raw reads honour the range and the limit', async () => {
      const c = irregularSeries('lim-1', 'm', BASE, 3 * HOUR, 5);
      await commit(h.store, c);
      const from = c.times[10]!;
      const to = c.times[50]!;
      const part = raw(await h.store.querier.points({ device: 'lim-1', metric: 'm', from, to }));
      assert.deepEqual([...part.times], c.times.slice(10, 50));
      const cut = raw(
        await h.store.querier.points({ device: 'lim-1', metric: 'm', from, to, limit: 7 }),
      );
      assert.deepEqual([...cut.times], c.times.slice(10, 17));
      assert.equal(cut.truncated, true);
    });

    it('down-samples exactly as computed from the points (min, max, avg, count)', async () => {
      const c = irregularSeries('ds-1', 'load', BASE, 30 * HOUR, 6);
      const other = irregularSeries('ds-1', 'other', BASE, 30 * HOUR, 7);
      await commit(h.store, c, other);
      const from = BASE + 17 * MINUTE + 123; // deliberately not on any bucket boundary
      const to = BASE + 27 * HOUR + 5 * MINUTE + 9;
      for (const bucketMs of [1000 * 37, MINUTE, 7 * MINUTE, HOUR, 4 * HOUR, DAY]) {
        for (const source of ['auto', 'raw'] as const) {
          const result = buckets(
            await h.store.querier.points({
              device: 'ds-1',
              metric: 'load',
              from,
              to,
              bucketMs,
              source,
            }),
          );
          assert.equal(result.bucketMs, bucketMs);
          assertBuckets(
            result,
            expectedBuckets(c, from, to, bucketMs),
            `${bucketMs} ms, ${source}`,
          );
          const expectedSource =
            !expect.timescale || source === 'raw'
              ? 'points'
              : bucketMs % HOUR === 0
                ? 'points_1h'
                : bucketMs % MINUTE === 0
                  ? 'points_1m'
                  : 'points';
          assert.equal(result.source, expectedSource);
        }
      }
      const empty = buckets(
        await h.store.querier.points({
          device: 'ds-1',
          metric: 'load',
          from: 0,
          to: 1,
          bucketMs: MINUTE,
        }),
      );
      assert.equal(empty.times.length, 0);
    });

    it('events: upsert by id, filters, newest first', async () => {
      const open = event('ev-1', { end: null, level: 'alert' });
      await h.store.events.upsert([
        open,
        event('ev-2', {
          start: BASE + HOUR,
          end: BASE + 2 * HOUR,
          level: 'severe',
          strategy: 'fast',
        }),
        event('ev-3', {
          device: 'ev-pump-2',
          metric: null,
          start: BASE + 3 * HOUR,
          end: BASE + 4 * HOUR,
        }),
      ]);
      assert.deepEqual(await h.store.events.get('ev-1'), open);
      // The open event closes and grows: same id, replaced.
      const closed = event('ev-1', { end: BASE + 40 * MINUTE, level: 'severe', points: 30 });
      await h.store.events.upsert([event('ev-1', { points: 1 }), closed]); // last one wins
      assert.deepEqual(await h.store.events.get('ev-1'), closed);
      assert.equal(await h.store.events.get('nope'), undefined);

      const ids = async (q: Parameters<Store['querier']['events']>[0]) =>
        (await h.store.querier.events(q)).map((e) => e.id).filter((id) => id.startsWith('ev-'));
      assert.deepEqual(await ids({}), ['ev-3', 'ev-2', 'ev-1']);
      assert.deepEqual(await ids({ device: 'ev-pump-1' }), ['ev-2', 'ev-1']);
      assert.deepEqual(await ids({ strategy: 'fast' }), ['ev-2']);
      assert.deepEqual(await ids({ minLevel: 'severe' }), ['ev-2', 'ev-1']);
      assert.deepEqual(await ids({ metric: 'pressure', minLevel: 'alert' }), ['ev-2', 'ev-1']);
      assert.deepEqual(await ids({ from: BASE + 50 * MINUTE, to: BASE + 3 * HOUR }), ['ev-2']);
      assert.deepEqual(await ids({ from: BASE + 3 * HOUR + 1 }), ['ev-3']);
      assert.deepEqual(await ids({ limit: 1 }), ['ev-3']);
      const device = (await h.store.querier.events({ device: 'ev-pump-2' }))[0]!;
      assert.equal(device.metric, null);

      await assert.rejects(
        h.store.events.upsert([event('ev-4'), event('ev-5', { level: 'ok' as 'alert' })]),
        rejectsWith('VIGIL_ERR_STORE_INVALID'),
      );
      assert.equal(await h.store.events.get('ev-4'), undefined);
    });

    it('labels: set, replace, clear, filter, per-strategy precision; upserts keep them', async () => {
      await h.store.events.upsert([
        event('lb-1', { device: 'lb-pump', strategy: 'lb-a', end: null, start: BASE + 5 * HOUR }),
        event('lb-2', { device: 'lb-pump', strategy: 'lb-a', end: null, start: BASE + 6 * HOUR }),
        event('lb-3', { device: 'lb-pump', strategy: 'lb-a', end: null, start: BASE + 7 * HOUR }),
        event('lb-4', { device: 'lb-pump', strategy: 'lb-b', end: null, start: BASE + 8 * HOUR }),
      ]);
      const before = Date.now();
      const one = await h.store.events.setLabel('lb-1', {
        label: 'anomaly',
        note: 'bearing',
        by: 'ann',
      });
      assert.equal(one?.label?.label, 'anomaly');
      assert.equal(one?.label?.note, 'bearing');
      assert.equal(one?.label?.by, 'ann');
      assert.ok(one!.label!.at >= before - 60_000 && one!.label!.at <= Date.now() + 60_000);
      await h.store.events.setLabel('lb-2', { label: 'unsure' });
      await h.store.events.setLabel('lb-2', { label: 'false_alarm', note: null }); // replaces
      await h.store.events.setLabel('lb-3', { label: 'unsure' });
      await h.store.events.setLabel('lb-4', { label: 'false_alarm' });
      assert.deepEqual((await h.store.events.get('lb-2'))?.label?.label, 'false_alarm');
      assert.equal((await h.store.events.get('lb-2'))?.label?.by, null);

      // The engine writes the event again (it grew): the label stays.
      await h.store.events.upsert([
        event('lb-1', {
          device: 'lb-pump',
          strategy: 'lb-a',
          end: null,
          start: BASE + 5 * HOUR,
          points: 9,
        }),
      ]);
      const grown = await h.store.events.get('lb-1');
      assert.equal(grown?.points, 9);
      assert.equal(grown?.label?.label, 'anomaly');

      const ids = async (label: 'anomaly' | 'false_alarm' | 'unsure' | 'none' | 'any') =>
        (await h.store.querier.events({ device: 'lb-pump', label })).map((e) => e.id).sort();
      assert.deepEqual(await ids('anomaly'), ['lb-1']);
      assert.deepEqual(await ids('false_alarm'), ['lb-2', 'lb-4']);
      assert.deepEqual(await ids('any'), ['lb-1', 'lb-2', 'lb-3', 'lb-4']);
      assert.deepEqual(await ids('none'), []);
      assert.deepEqual(
        (await h.store.querier.events({ label: 'anomaly', strategy: 'lb-a' })).map((e) => e.id),
        ['lb-1'],
      );

      const summary = (await h.store.events.labelSummary()).filter((s) =>
        s.strategy.startsWith('lb-'),
      );
      assert.deepEqual(summary, [
        {
          strategy: 'lb-a',
          events: 3,
          labelled: 3,
          anomaly: 1,
          falseAlarm: 1,
          unsure: 1,
          precision: 0.5,
        },
        {
          strategy: 'lb-b',
          events: 1,
          labelled: 1,
          anomaly: 0,
          falseAlarm: 1,
          unsure: 0,
          precision: 0,
        },
      ]);

      const cleared = await h.store.events.clearLabel('lb-3');
      assert.equal(cleared?.label, undefined);
      assert.ok(!('label' in cleared!));
      assert.deepEqual(await ids('none'), ['lb-3']);
      assert.equal(await h.store.events.setLabel('nope', { label: 'anomaly' }), undefined);
      assert.equal(await h.store.events.clearLabel('nope'), undefined);
      await assert.rejects(
        h.store.events.setLabel('lb-1', { label: 'maybe' as 'anomaly' }),
        rejectsWith('VIGIL_ERR_STORE_INVALID'),
      );
      await assert.rejects(
        h.store.events.setLabel('lb-1', { label: 'anomaly', note: 'x'.repeat(2001) }),
        rejectsWith('VIGIL_ERR_STORE_INVALID'),
      );
      await assert.rejects(
        h.store.querier.events({ label: 'maybe' as 'anomaly' }),
        rejectsWith('VIGIL_ERR_STORE_INVALID'),
      );
      assert.equal((await h.store.events.get('lb-1'))?.label?.note, 'bearing');
    });

    it('strategies: every version kept, immutable, latest and by version', async () => {
      const v1 = await h.store.strategies.save({
        name: 'pumps',
        version: 1,
        yaml: 'name: pumps\nversion: 1\n',
      });
      const v2 = await h.store.strategies.save({
        name: 'pumps',
        version: 2,
        yaml: 'name: pumps\nversion: 2\n',
      });
      await h.store.strategies.save({ name: 'fans', version: 7, yaml: 'name: fans\n' });
      assert.deepEqual(
        await h.store.strategies.save({ name: 'pumps', version: 1, yaml: v1.yaml }),
        v1,
      );
      await assert.rejects(
        h.store.strategies.save({ name: 'pumps', version: 1, yaml: 'changed' }),
        rejectsWith('VIGIL_ERR_STORE_CONFLICT'),
      );
      assert.deepEqual(await h.store.strategies.latest('pumps'), v2);
      assert.deepEqual(await h.store.strategies.get('pumps', 1), v1);
      assert.equal(await h.store.strategies.get('pumps', 3), undefined);
      assert.equal(await h.store.strategies.latest('nope'), undefined);
      const list = await h.store.strategies.list();
      assert.deepEqual(
        list.map((s) => `${s.name}@${s.version}`),
        ['fans@7', 'pumps@1', 'pumps@2'],
      );
      assert.ok(Math.abs(v1.createdAt - Date.now()) < HOUR);
    });

    it('checkpoints: real pipeline snapshots round-trip exactly; the latest put wins', async () => {
      const strategy = await resolveStrategy('default');
      const rng = Rng.fromSeed(11);
      const pipelines = ['cp/a', 'cp/b'].map((key) => ({ key, p: compileStrategy(strategy)(key) }));
      for (let i = 0; i < 500; i++) {
        for (const { p } of pipelines) p.process(BASE + i * 1000, rng.uniform(0, 10) / 3);
      }
      const checkpoints = pipelines.map(({ key, p }) => ({
        key,
        snapshot: p.snapshot(),
        eventTime: BASE + 499_000,
        wallTime: BASE + DAY,
      }));
      await h.store.checkpoints.put(checkpoints);
      await h.store.checkpoints.put([{ ...checkpoints[1]!, eventTime: BASE + 500_000 }]);
      const back = (await h.store.checkpoints.getAll()).filter((c) => c.key.startsWith('cp/'));
      assert.deepEqual(back, [checkpoints[0], { ...checkpoints[1], eventTime: BASE + 500_000 }]);
      const [row] = await h.sql(
        `SELECT snapshot IS NULL AS no_json, get_byte(state, 0) AS magic
         FROM checkpoints WHERE series_key = 'cp/a'`,
      );
      assert.deepEqual(row, { no_json: true, magic: 0x56 }, 'stored in the binary form');
    });

    it('checkpoints: typed arrays, NaN, ±Infinity and −0 round-trip bit for bit', async () => {
      const f64 = new Float64Array([NaN, -0, 0, Infinity, -Infinity, 1 / 3, 5e-324]);
      const f32 = new Float32Array([NaN, -0, Math.fround(0.1), 3.4e38]);
      const snapshot = {
        strategy: 'bits',
        version: 1,
        state: { f64, f32, nan: NaN, negZero: -0, nested: [{ inf: -Infinity }] },
      } as unknown as PipelineSnapshot;
      await h.store.checkpoints.put([{ key: 'bits/a', snapshot, eventTime: BASE }]);
      const [back] = (await h.store.checkpoints.getAll()).filter((c) => c.key === 'bits/a');
      const state = (
        back?.snapshot as unknown as { state: typeof snapshot & Record<string, unknown> }
      ).state as unknown as { f64: Float64Array; f32: Float32Array; nan: number; negZero: number };
      assert.ok(state.f64 instanceof Float64Array && state.f32 instanceof Float32Array);
      const bytes = (a: Float64Array | Float32Array): Buffer =>
        Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      assert.deepEqual(bytes(state.f64), bytes(f64));
      assert.deepEqual(bytes(state.f32), bytes(f32));
      assert.ok(Number.isNaN(state.nan));
      assert.ok(Object.is(state.negZero, -0));
      assert.deepEqual(back?.snapshot, snapshot);
    });

    it('checkpoints: a row stored as JSON (by Vigil before the binary form) still restores', async () => {
      const snapshot = { strategy: 'old', version: 2, state: { n: 3, mean: 1.5, xs: [1, 2] } };
      await h.sql(
        `INSERT INTO checkpoints (series_key, snapshot, event_time, wall_time)
         VALUES ('json/a', '${JSON.stringify(snapshot)}'::jsonb,
           to_timestamp(${BASE / 1000}), to_timestamp(${(BASE + DAY) / 1000}))`,
      );
      const [back] = (await h.store.checkpoints.getAll()).filter((c) => c.key === 'json/a');
      assert.deepEqual(back, { key: 'json/a', snapshot, eventTime: BASE, wallTime: BASE + DAY });
      // Written again, the row turns binary.
      await h.store.checkpoints.put([{ ...back!, eventTime: BASE + 1 }]);
      const [row] = await h.sql(
        `SELECT snapshot IS NULL AS no_json FROM checkpoints WHERE series_key = 'json/a'`,
      );
      assert.deepEqual(row, { no_json: true });
      const [again] = (await h.store.checkpoints.getAll()).filter((c) => c.key === 'json/a');
      assert.deepEqual(again?.snapshot, snapshot);
    });

    it('checkpoints: get(keys) reads the rows of those keys only', async () => {
      const snapshot = { strategy: 'g', version: 1 } as unknown as PipelineSnapshot;
      await h.store.checkpoints.put(
        ['g/a', 'g/b', 'g/c'].map((key) => ({ key, snapshot, eventTime: BASE })),
      );
      const back = await h.store.checkpoints.get(['g/c', 'g/a', 'g/none']);
      assert.deepEqual(
        back.map((c) => c.key),
        ['g/a', 'g/c'],
      );
      assert.deepEqual(back[0]?.snapshot, snapshot);
      assert.deepEqual(await h.store.checkpoints.get([]), []);
    });

    it('checkpoints: deletePrefix deletes the keys with that prefix only (% and _ are literal)', async () => {
      const snapshot = { strategy: 'x', version: 1 } as unknown as PipelineSnapshot;
      const keys = ['dp:1:a', 'dp:1:b', 'dp:12:a', 'dp:%:a', 'dp_1:a'];
      await h.store.checkpoints.put(keys.map((key) => ({ key, snapshot, eventTime: BASE })));
      assert.equal(await h.store.checkpoints.deletePrefix('dp:1:'), 2);
      assert.equal(await h.store.checkpoints.deletePrefix('dp:%'), 1);
      const left = (await h.store.checkpoints.getAll()).filter((c) => c.key.startsWith('dp'));
      assert.deepEqual(
        left.map((c) => c.key),
        ['dp:12:a', 'dp_1:a'],
      );
      await assert.rejects(h.store.checkpoints.deletePrefix(''), /prefix/);
    });

    it('engine state: documents round-trip by key; the latest put wins', async () => {
      assert.equal(await h.store.engineState.get('es:none'), undefined);
      const first = { active: [{ name: 'pumps', version: 2 }], position: '000000000003:~' };
      await h.store.engineState.put('es:a', first);
      await h.store.engineState.put('es:b', [1, 'two', null, { x: 0.1 }]);
      assert.deepEqual(await h.store.engineState.get('es:a'), first);
      await h.store.engineState.put('es:a', { active: [] });
      assert.deepEqual(await h.store.engineState.get('es:a'), { active: [] });
      assert.deepEqual(await h.store.engineState.get('es:b'), [1, 'two', null, { x: 0.1 }]);
      await assert.rejects(h.store.engineState.put('', 1), /engine state key/);
    });

    it('concurrent commits of overlapping batches neither deadlock nor duplicate', async () => {
      const c = irregularSeries('cc-1', 'm', BASE, 4 * HOUR, 8);
      const d = irregularSeries('cc-2', 'm', BASE, 4 * HOUR, 9);
      const reversed = (x: Column): Column => ({
        devices: [...x.devices].reverse(),
        metrics: [...x.metrics].reverse(),
        times: [...x.times].reverse(),
        values: [...x.values].reverse(),
      });
      const results = await Promise.all([
        commit(h.store, c, d),
        commit(h.store, reversed(d), reversed(c)),
        commit(h.store, d),
        commit(h.store, reversed(c)),
      ]);
      const total = c.times.length + d.times.length;
      assert.equal(
        results.reduce((sum, r) => sum + r.inserted, 0),
        total,
      );
      assert.equal(await count(h, `device_id IN ('cc-1', 'cc-2')`), total);
    });

    it('shadow runs: create, list, counters, end once; shadow events kept apart', async () => {
      const run = await h.store.shadows.create({ strategy: 'sh-cand', version: 2 });
      assert.equal(run.status, 'running');
      assert.equal(run.endedAt, null);
      assert.deepEqual(await h.store.shadows.get(run.id), run);
      assert.equal(await h.store.shadows.get(run.id + 1000), undefined);
      const other = await h.store.shadows.create({ strategy: 'sh-cand', version: 3 });
      assert.ok(other.id > run.id);
      const running = (await h.store.shadows.list('running')).map((r) => r.id);
      assert.deepEqual(running.slice(0, 2), [other.id, run.id]);
      const saved = await h.store.shadows.saveStats(run.id, { points: 7 });
      assert.deepEqual(saved?.stats, { points: 7 });
      const ended = await h.store.shadows.end(run.id, 'discarded', null);
      assert.equal(ended?.status, 'discarded');
      assert.deepEqual(ended?.stats, { points: 7 });
      assert.ok(ended?.endedAt !== null);
      // Ending again keeps the first outcome.
      assert.equal(
        (await h.store.shadows.end(run.id, 'promoted', { points: 9 }))?.status,
        'discarded',
      );
      assert.ok(!(await h.store.shadows.list('running')).some((r) => r.id === run.id));
      await assert.rejects(
        h.store.shadows.create({ strategy: '', version: 1 }),
        (e: VigilError) => e.code === 'VIGIL_ERR_STORE_INVALID',
      );

      await h.store.events.upsert([
        event('sh-live', { device: 'sh-pump', strategy: 'sh-live' }),
        { ...event('sh-shadow', { device: 'sh-pump', strategy: 'sh-cand' }), shadowRun: other.id },
      ]);
      const ids = async (q: EventsQuery) =>
        (await h.store.querier.events({ device: 'sh-pump', ...q })).map((e) => e.id).sort();
      assert.deepEqual(await ids({}), ['sh-live']);
      assert.deepEqual(await ids({ shadow: 'include' }), ['sh-live', 'sh-shadow']);
      assert.deepEqual(await ids({ shadow: 'only' }), ['sh-shadow']);
      assert.deepEqual(await ids({ shadowRun: other.id }), ['sh-shadow']);
      assert.deepEqual(await ids({ shadowRun: run.id }), []);
      assert.equal((await h.store.events.get('sh-shadow'))?.shadowRun, other.id);
      assert.equal((await h.store.events.get('sh-live'))?.shadowRun, undefined);
      const summary = await h.store.events.labelSummary();
      assert.ok(!summary.some((s) => s.strategy === 'sh-cand'));
    });

    it('maintenance runs and keeps points within retention', async () => {
      const c = irregularSeries('mt-1', 'm', BASE, HOUR, 10);
      await commit(h.store, c);
      await h.store.maintain();
      await h.store.refreshAggregates();
      assert.equal(await count(h, `device_id = 'mt-1'`), c.times.length);
      // Re-appending after compression (TimescaleDB) must still be a no-op.
      assert.equal((await commit(h.store, c)).inserted, 0);
      assert.equal(await count(h, `device_id = 'mt-1'`), c.times.length);
    });

    // Last: its one-day retention drops every other test's points.
    it('after retention drops points, series report the oldest point left as first', async () => {
      const store = await h.reopen({ retentionDays: 1 });
      try {
        // Wall-clock times: retention is measured against the wall clock.
        const now = Math.floor(Date.now() / MINUTE) * MINUTE;
        const kept = irregularSeries('ret-1', 'm', now - 3 * DAY, 3 * DAY - HOUR, 31);
        const gone = irregularSeries('ret-2', 'm', now - 5 * DAY, HOUR, 32);
        await commit(store, kept, gone);
        const oldest = async (): Promise<number> => {
          const [row] = await h.sql(
            `SELECT (extract(epoch FROM min(time)) * 1000)::float8 AS t FROM points
             WHERE device_id = 'ret-1'`,
          );
          return row!.t as number;
        };
        assert.equal((await store.querier.series('ret-1'))[0]?.first, kept.times[0]);
        // What a retention job run by the server does, out of the store's sight: the series
        // are answered from the points at once.
        await h.sql(
          `DELETE FROM points WHERE device_id = 'ret-1' AND time < now() - interval '2 days'`,
        );
        const lazily = (await store.querier.series('ret-1'))[0];
        assert.equal(lazily?.first, await oldest());
        assert.ok(lazily!.first > now - 2 * DAY - MINUTE);
        // maintain(): retention, then the catalogue follows.
        await store.maintain();
        const after = await oldest();
        assert.ok(after >= now - DAY - HOUR, `oldest left ${new Date(after).toISOString()}`);
        assert.deepEqual(
          (await store.querier.series('ret-1')).map((s) => s.first),
          [after],
        );
        const [catalogue] = await h.sql(
          `SELECT (extract(epoch FROM first_time) * 1000)::float8 AS t FROM series
           WHERE device_id = 'ret-1'`,
        );
        assert.equal(catalogue!.t, after);
        // A series with no point left is no longer listed.
        assert.deepEqual(await store.querier.series('ret-2'), []);
      } finally {
        await store.close();
      }
    });
  });
}
