/**
 * `npm run bench:store`: how fast the appender stores points on each backend, next to the limit —
 * `psql \copy … from stdin` of the same rows straight into a table of the same shape (no staging,
 * no idempotency, no series catalogue). Also times one down-sampled read per backend.
 *
 * Points: BENCH_POINTS (default 1,000,000) over 20 series (4 devices × 5 metrics) at 1 s, in
 * commits of BENCH_BATCH (default 10,000) points, each a time slice across all series, as live
 * ingest produces them. PostgreSQL: DATABASE_URL or postgresql://postgres@127.0.0.1:5432/test,
 * in schemas of its own that are dropped afterwards. Each figure is the median of BENCH_RUNS
 * (default 3) passes. BENCH_PGLITE_BUFFERS_MB (e.g. `128,32`) measures the PGlite data directory
 * once per buffer pool size (MB), side by side, instead of once at the default.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { openPGliteStore } from '../store/pglite-store.js';
import { openPostgresStore } from '../store/postgres-store.js';
import type { PointBatch, Store } from '../store/store.js';
import { psqlCopy } from './psql-copy.js';

const POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const DEVICES = 4;
const METRICS = 5;
const SERIES = DEVICES * METRICS;
const START = Date.UTC(2025, 0, 1);
const PGLITE_BUFFERS: readonly (number | undefined)[] = process.env.BENCH_PGLITE_BUFFERS_MB?.split(
  ',',
).map(Number) ?? [undefined];

function batches(): PointBatch[] {
  const out: PointBatch[] = [];
  let state = 42;
  const noise = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (let first = 0; first < POINTS; first += BATCH) {
    const n = Math.min(BATCH, POINTS - first);
    const devices: string[] = [];
    const metrics: string[] = [];
    const times = new Float64Array(n);
    const values = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const i = first + j;
      const series = i % SERIES;
      devices.push(`pump-${Math.floor(series / METRICS)}`);
      metrics.push(`metric-${series % METRICS}`);
      times[j] = START + Math.floor(i / SERIES) * 1000;
      values[j] = 50 + 10 * Math.sin(i / 5000) + noise();
    }
    out.push({ devices, metrics, times, values });
  }
  return out;
}

async function appendAll(store: Store, data: readonly PointBatch[]): Promise<number> {
  const t0 = performance.now();
  for (const batch of data) {
    const appender = store.appender();
    appender.append(batch);
    await appender.commit();
  }
  return (performance.now() - t0) / 1000;
}

/** Median of a few down-sampled reads: one series, its whole span, 1-minute buckets. */
async function readTime(store: Store): Promise<number> {
  const end = START + Math.ceil(POINTS / SERIES) * 1000;
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await store.querier.points({
      device: 'pump-1',
      metric: 'metric-2',
      from: START,
      to: end,
      bucketMs: 60_000,
    });
    runs.push(performance.now() - t0);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

/**
 * The alternative bulk path PGlite offers, for comparison: the same idempotent merge (points, then
 * the series catalogue) from parameter arrays (`unnest`) instead of COPY into a staging table.
 */
async function unnestAll(data: readonly PointBatch[]): Promise<number> {
  const db = await PGlite.create();
  const store = await openPGliteStore({ db, retentionDays: 0 });
  const ts = (ms: string): string => `timestamptz 'epoch' + ${ms} * interval '1 millisecond'`;
  const t0 = performance.now();
  for (const b of data) {
    const columns = [
      Array.from(b.devices),
      Array.from(b.metrics),
      Array.from(b.times),
      Array.from(b.values),
    ];
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO points (device_id, metric, time, value)
         SELECT d, m, ${ts('t')}, v
         FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS u(d, m, t, v)
         ON CONFLICT DO NOTHING`,
        columns,
      );
      await tx.query(
        `INSERT INTO series AS s (device_id, metric, first_time, last_time)
         SELECT d, m, ${ts('min(t)')}, ${ts('max(t)')}
         FROM unnest($1::text[], $2::text[], $3::float8[]) AS u(d, m, t)
         GROUP BY d, m ORDER BY d, m
         ON CONFLICT (device_id, metric) DO UPDATE
           SET first_time = least(s.first_time, excluded.first_time),
               last_time = greatest(s.last_time, excluded.last_time)`,
        columns.slice(0, 3),
      );
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  await db.close();
  return seconds;
}

function copyText(data: readonly PointBatch[]): string {
  const lines: string[] = [];
  for (const b of data) {
    for (let j = 0; j < b.times.length; j++) {
      const time = new Date(b.times[j]!).toISOString();
      lines.push(`${b.devices[j]}\t${b.metrics[j]}\t${time}\t${b.values[j]}\n`);
    }
  }
  return lines.join('');
}

interface Measurement {
  seconds: number;
  readMs: number | null;
}

type Target = { label: string; measure: (pass: number) => Promise<Measurement> };

const data = batches();
const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-'));
const schema = `vigil_bench_${process.pid}`;
const admin = new pg.Client({ connectionString: URL });
const file = join(dir, 'points.copy');

async function viaAppender(store: Store): Promise<Measurement> {
  try {
    const seconds = await appendAll(store, data);
    return { seconds, readMs: await readTime(store) };
  } finally {
    await store.close();
  }
}

const targets: Target[] = [
  ...PGLITE_BUFFERS.map((mb): Target => ({
    label: `PGlite, data directory${mb === undefined ? '' : `, ${mb} MB buffers`}`,
    measure: async (pass) =>
      viaAppender(
        await openPGliteStore({
          dataDir: join(dir, `pglite-${mb ?? 'default'}-${pass}`),
          retentionDays: 0,
          ...(mb === undefined ? {} : { sharedBuffersMb: mb }),
        }),
      ),
  })),
  {
    label: 'PGlite, in memory',
    measure: async () => viaAppender(await openPGliteStore({ retentionDays: 0 })),
  },
  {
    label: 'PGlite, in memory, unnest INSERT',
    measure: async () => ({ seconds: await unnestAll(data), readMs: null }),
  },
  {
    label: 'PostgreSQL, appender',
    measure: async (pass) =>
      viaAppender(
        await openPostgresStore({
          databaseUrl: URL,
          schema: `${schema}_${pass}`,
          retentionDays: 0,
        }),
      ),
  },
  {
    // The limit: the same rows, COPY'd by psql into an empty table with the same primary key.
    label: 'PostgreSQL, psql \\copy (limit)',
    measure: async (pass) => {
      const table = `${schema}.copy_limit_${pass}`;
      await admin.query(`CREATE TABLE ${table} (LIKE ${schema}_0.points INCLUDING ALL)`);
      return { seconds: await psqlCopy(URL, file, table), readMs: null };
    },
  },
];

// Passes interleave the targets, so a busy moment on the machine does not hit only one of them.
const results = new Map<string, Measurement[]>(targets.map((t) => [t.label, []]));
try {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await writeFile(file, copyText(data));
  for (let pass = 0; pass < RUNS; pass++) {
    for (const target of targets) {
      results.get(target.label)!.push(await target.measure(pass));
      process.stderr.write(`pass ${pass + 1}/${RUNS}: measured ${target.label}\n`);
    }
  }
} finally {
  for (let pass = 0; pass < RUNS; pass++) {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema}_${pass} CASCADE`).catch(() => {});
  }
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await admin.end().catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows = targets.map((t) => {
  const runs = results.get(t.label)!;
  const reads = runs.flatMap((r) => (r.readMs === null ? [] : [r.readMs]));
  return {
    backend: t.label,
    seconds: median(runs.map((r) => r.seconds)),
    readMs: reads.length === 0 ? null : median(reads),
  };
});
const limit = rows[rows.length - 1]!;
const format = (n: number): string => Math.round(n).toLocaleString('en-US');
const lines = [
  `${POINTS.toLocaleString('en-US')} points, ${SERIES} series, commits of ` +
    `${BATCH.toLocaleString('en-US')}; median of ${RUNS} interleaved passes; read = one series ` +
    `(${format(POINTS / SERIES)} points) in 1-minute buckets`,
  '',
  '| backend | seconds | points/s | × psql \\copy | read ms |',
  '|---|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.backend} | ${r.seconds.toFixed(2)} | ${format(POINTS / r.seconds)} | ` +
      `${(limit.seconds / r.seconds).toFixed(2)} | ` +
      `${r.readMs === null ? '—' : r.readMs.toFixed(1)} |`,
  ),
];
process.stdout.write(lines.join('\n') + '\n');
