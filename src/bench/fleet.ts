/**
 * `npm run bench:fleet`: a fleet of live series in one engine (issue 14's targets): heap per
 * series, checkpoint bytes per series, full and incremental checkpoint time, p99 ack while a
 * full checkpoint is written, and restart-to-ready with every series checkpointed.
 *
 * Usage: node --expose-gc dist/bench/fleet.js [--series 100000] [--points 30]
 *   [--strategy default|fast] [--workers 1] [--database-url postgresql://…]
 * Series are `dev<i>` × 10 metrics; each gets `--points` warm-up points (one sample per 15 s).
 * The store is PGlite in a new data directory (as `vigil serve` runs) unless a database URL is
 * given. Columns measured elsewhere (MQTT messages/s) print "—".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { compileStrategy } from '../core/strategy/compile.js';
import { createEngine } from '../engine/create-engine.js';
import { BackpressureError, type IngestPoint } from '../engine/engine.js';
import { openStore } from '../store/open-store.js';
import type { EncodedCheckpoint, Store } from '../store/store.js';
import { resolveStrategy } from '../strategy-files/load.js';
import { heapPerSeries } from './measure.js';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '100000' },
    points: { type: 'string', default: '30' },
    strategy: { type: 'string', default: 'default' },
    workers: { type: 'string', default: '1' },
    'database-url': { type: 'string' },
  },
});

const SERIES = Number(args.series);
const POINTS = Number(args.points);
const WORKERS = Number(args.workers);
const METRICS = 10;
const DEVICES = Math.ceil(SERIES / METRICS);
const START = Date.UTC(2026, 0, 1);
const STEP = 15_000;
/** Points per ingest call: one per device (10 series each). */
const BATCH = 200;

const value = (device: number, metric: number, i: number): number =>
  Math.sin(i / (5 + metric) + device) * (1 + metric) + ((i * 7 + device) % 997 === 0 ? 9 : 0);

/** Sample `i` of devices `from`..`to` (exclusive). */
function batch(from: number, to: number, i: number): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let d = from; d < to; d++) {
    const metrics: Record<string, number> = {};
    for (let m = 0; m < METRICS && d * METRICS + m < SERIES; m++) {
      metrics[`m${m}`] = value(d, m, i);
    }
    out.push({ timestamp: START + i * STEP, device_id: `dev${d}`, metrics });
  }
  return out;
}

type Engine = Awaited<ReturnType<typeof createEngine>>;

/** Ingest, waiting as told while the engine's queues are full. */
async function ingest(engine: Engine, points: IngestPoint[]): Promise<void> {
  for (;;) {
    try {
      await engine.ingest(points, 'bench');
      return;
    } catch (error) {
      if (!(error instanceof BackpressureError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs));
    }
  }
}

/** Feed `devices` sample `i` in batches, several in flight. */
async function ingestRound(engine: Engine, devices: number, i: number): Promise<void> {
  const inFlight: Promise<unknown>[] = [];
  for (let d = 0; d < devices; d += BATCH) {
    inFlight.push(ingest(engine, batch(d, Math.min(devices, d + BATCH), i)));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

/** Counts what the checkpointer hands the store (rows and encoded bytes). */
function countWrites(store: Store): { rows: number; bytes: number } {
  const counted = { rows: 0, bytes: 0 };
  const put = store.checkpoints.putEncoded.bind(store.checkpoints);
  store.checkpoints.putEncoded = async (list: readonly EncodedCheckpoint[]) => {
    counted.rows += list.length;
    for (const c of list) counted.bytes += c.state.byteLength;
    await put(list);
  };
  return counted;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Take a checkpoint while a steady trickle of small batches is ingested; the acks' latencies
 * and the checkpoint's duration.
 */
async function checkpointUnderLoad(
  engine: Engine,
  sample: number,
): Promise<{ ms: number; acks: number[] }> {
  const acks: number[] = [];
  let running = true;
  let device = 0;
  const trickle = (async () => {
    while (running) {
      const from = device % DEVICES;
      device += 10;
      const t0 = performance.now();
      await ingest(engine, batch(from, Math.min(DEVICES, from + 10), sample));
      acks.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const t0 = performance.now();
  await engine.checkpoint();
  const ms = performance.now() - t0;
  running = false;
  await trickle;
  return { ms, acks };
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '—';

async function main(): Promise<void> {
  const rssStart = process.memoryUsage().rss;
  const strategy = await resolveStrategy(args.strategy);
  const sampleTimes = Float64Array.from({ length: 300 }, (_, i) => START + i * STEP);
  const sampleValues = Float64Array.from({ length: 300 }, (_, i) => value(1, 1, i));
  const heap = heapPerSeries(
    compileStrategy(strategy),
    { times: sampleTimes, values: sampleValues },
    Math.min(SERIES, 10_000),
  );

  const dir = await mkdtemp(join(tmpdir(), 'vigil-fleet-'));
  const url = args['database-url'];
  const schema = `vigil_fleet_${process.pid}`;
  const open = (): Promise<Store> =>
    url === undefined
      ? openStore({ dataDir: join(dir, 'data') })
      : openStore({ databaseUrl: url, schema, timescale: 'off' });
  const options = {
    spoolDir: join(dir, 'spool'),
    checkpointEveryMs: 0,
    workers: WORKERS,
    defaultStrategy: strategy,
    maxSeries: SERIES,
    maxSeriesPerDevice: METRICS,
  };
  try {
    let store = await open();
    const writes = countWrites(store);
    const engine = await createEngine({ ...options, store });
    const t0 = performance.now();
    for (let i = 0; i < POINTS; i++) await ingestRound(engine, DEVICES, i);
    await engine.flush();
    const ingestS = (performance.now() - t0) / 1000;

    const full = await checkpointUnderLoad(engine, POINTS);
    const fullRows = writes.rows;
    const fullBytes = writes.bytes;

    // What the trickle changed during the full checkpoint goes into one more; then 1 % of the
    // devices get a new point, and the next checkpoint writes those series only.
    await engine.flush();
    await engine.checkpoint();
    const beforeIncremental = writes.rows;
    await ingestRound(engine, Math.max(1, Math.floor(DEVICES / 100)), POINTS + 1);
    await engine.flush();
    const t1 = performance.now();
    await engine.checkpoint();
    const incrementalMs = performance.now() - t1;
    const incrementalRows = writes.rows - beforeIncremental;
    await engine.close();
    await store.close();

    const t2 = performance.now();
    store = await open();
    const opened = (performance.now() - t2) / 1000;
    const again = await createEngine({ ...options, store });
    const restartS = (performance.now() - t2) / 1000;
    const restored = again.stats().series;
    const lazy = again.stats().evictedSeries;
    // Every series' next point: a lazily restored one reads its state first.
    const t3 = performance.now();
    await ingestRound(again, DEVICES, POINTS + 2);
    await again.flush();
    const firstRoundS = (performance.now() - t3) / 1000;
    await again.close();
    await store.close();

    const rssEnd = process.memoryUsage().rss;
    const rows: [string, string][] = [
      ['series', fmt(SERIES)],
      [
        'strategy / workers / store',
        `${args.strategy} / ${WORKERS} / ${url ? 'PostgreSQL' : 'PGlite'}`,
      ],
      ['warm-up points per series (ingest time)', `${POINTS} (${fmt(ingestS, 1)} s)`],
      ['heap bytes/series', fmt(heap)],
      ['checkpoint bytes/series', fmt(fullBytes / Math.max(1, fullRows))],
      ['full checkpoint: series written, time', `${fmt(fullRows)}, ${fmt(full.ms / 1000, 1)} s`],
      [
        'incremental checkpoint (1 % changed): series written, time',
        `${fmt(incrementalRows)}, ${fmt(incrementalMs / 1000, 2)} s`,
      ],
      [
        'p99 / max ack during the full checkpoint',
        `${fmt(percentile(full.acks, 99), 1)} / ${fmt(Math.max(...full.acks), 1)} ms (${full.acks.length} acks)`,
      ],
      [
        'restart to ready: store open + engine (series restored)',
        `${fmt(restartS, 1)} s: ${fmt(opened, 1)} + ${fmt(restartS - opened, 1)} s (${fmt(restored)})`,
      ],
      [
        'then one point for every series (states read on first point)',
        `${fmt(firstRoundS, 1)} s (${fmt(lazy)} restored lazily)`,
      ],
      ['RSS start / end', `${mb(rssStart)} / ${mb(rssEnd)}`],
      ['MQTT messages/s', '—'],
    ];
    process.stdout.write('| measure | value |\n|---|---|\n');
    for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
    if (url !== undefined) {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
