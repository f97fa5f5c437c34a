import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { createEngine, type EngineOptions } from './create-engine.js';
import type { IngestPoint, ScoredPoint } from './engine.js';
import { seriesKey } from './scoring/checkpoint-keys.js';

const BASE = Date.UTC(2025, 0, 1);
const PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const RUN = `vigil_ckpt_${process.pid}_${Date.now().toString(36)}`;
const DEVICES = 10;
const METRICS = ['m0', 'm1', 'm2', 'm3'];

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-ckpt-'));
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

/** Points `from`..`to` (exclusive) of the given devices, every metric, a spike now and then. */
function points(devices: readonly number[], from: number, to: number): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let i = from; i < to; i++) {
    for (const d of devices) {
      const metrics: Record<string, number> = {};
      METRICS.forEach((m, k) => {
        metrics[m] = Math.sin(i / (3 + k) + d) + (i % 61 === d ? 8 : 0);
      });
      out.push({ timestamp: BASE + i * 1000, device_id: `dev${d}`, metrics });
    }
  }
  return out;
}
const ALL = Array.from({ length: DEVICES }, (_, d) => d);

type Opened = { store: Store; close(): Promise<void>; schema?: string };

function checkpointSuite(
  name: string,
  open: () => Promise<Opened>,
  mode: Partial<EngineOptions>,
): void {
  describe(`checkpoints on ${name}`, () => {
    it('write only the series changed since the last one, and restore (binary or old JSON) to the scores of an uninterrupted run', async () => {
      const feed = (engine: Awaited<ReturnType<typeof createEngine>>): ScoredPoint[] => {
        const into: ScoredPoint[] = [];
        engine.subscribe((item) => {
          if (item.type === 'score') into.push(item.point);
        });
        return into;
      };
      // The uninterrupted run.
      const a = await open();
      let whole: ScoredPoint[];
      try {
        const engine = await createEngine({
          store: a.store,
          spoolDir: await tempDir(),
          checkpointEveryMs: 0,
          scoreFeedPerSecond: Infinity,
          ...mode,
        });
        whole = feed(engine);
        await engine.ingest(points(ALL, 0, 100), 'test');
        await engine.ingest(points([3], 100, 150), 'test');
        await engine.ingest(points([3, 7], 150, 200), 'test');
        await engine.ingest(points(ALL, 200, 300), 'test');
        await engine.close();
      } finally {
        await a.close();
      }

      const b = await open();
      try {
        let wall = 1_000_000;
        const spoolDir = await tempDir();
        const options = { store: b.store, spoolDir, checkpointEveryMs: 0, ...mode };
        const first = await createEngine({ ...options, clock: () => wall });
        const writtenAt = async (at: number): Promise<string[]> =>
          (await b.store.checkpoints.getAll())
            .filter((c) => c.wallTime === at)
            .map((c) => c.key)
            .sort();
        const keysOf = (devices: readonly number[]): string[] =>
          devices.flatMap((d) => METRICS.map((m) => seriesKey(`dev${d}`, m))).sort();

        await first.ingest(points(ALL, 0, 100), 'test');
        await first.checkpoint();
        assert.deepEqual(await writtenAt(wall), keysOf(ALL), 'the first checkpoint is full');
        wall += 1000;
        await first.ingest(points([3], 100, 150), 'test');
        await first.checkpoint();
        assert.deepEqual(await writtenAt(wall), keysOf([3]), 'then only dev3 changed');
        wall += 1000;
        await first.checkpoint();
        assert.deepEqual(await writtenAt(wall), [], 'nothing changed, nothing written');
        wall += 1000;
        await first.ingest(points([3, 7], 150, 200), 'test');
        await first.close(); // checkpoints dev3 and dev7 only
        assert.deepEqual(await writtenAt(wall), keysOf([3, 7]));
        const rows = await b.store.checkpoints.getAll();
        assert.equal(rows.length, DEVICES * METRICS.length);

        if (b.schema !== undefined) {
          // As Vigil wrote them before the binary form: JSON snapshots. They restore the same.
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          try {
            for (const row of rows) {
              await c.query(
                `UPDATE ${b.schema}.checkpoints SET snapshot = $1::jsonb, state = NULL
                 WHERE series_key = $2`,
                [JSON.stringify(row.snapshot), row.key],
              );
            }
          } finally {
            await c.end();
          }
        }
        // Restored from one full and three incremental checkpoints (on PostgreSQL, rewritten as
        // the JSON of earlier versions): scores as if never stopped.
        const second = await createEngine({
          ...options,
          scoreFeedPerSecond: Infinity,
          lazyRestoreAbove: 0,
        });
        // Binary states are known by their heads at start and read on their next point; JSON
        // ones (no head) are restored whole before ready.
        const start = await b.store.checkpoints.getForStart?.();
        const lazy = b.schema === undefined ? DEVICES * METRICS.length : 0;
        assert.equal(start?.heads.length, lazy);
        assert.equal(start?.whole.length, DEVICES * METRICS.length - lazy);
        assert.deepEqual(
          start?.heads.find((h) => h.key === seriesKey('dev3', 'm1'))?.head.device ?? 'dev3',
          'dev3',
        );
        assert.equal(second.stats().evictedSeries, lazy);
        assert.equal(second.stats().series, DEVICES * METRICS.length);
        const resumed = feed(second);
        await second.ingest(points(ALL, 200, 300), 'test');
        await second.close();
        assert.equal(resumed.length, 100 * DEVICES * METRICS.length);
        const tail = whole.filter((s) => s.timestamp >= BASE + 200_000);
        const order = (s: ScoredPoint): string => `${s.timestamp}|${s.device_id}|${s.metric}`;
        const sorted = (list: ScoredPoint[]): ScoredPoint[] =>
          [...list].sort((x, y) => (order(x) < order(y) ? -1 : order(x) > order(y) ? 1 : 0));
        assert.deepEqual(sorted(resumed), sorted(tail));
      } finally {
        await b.close();
      }
    });

    it('evict series idle beyond idleEvictAfterMs and bring them back on their next point, scoring as if never evicted', async () => {
      const busy = ALL.slice(0, DEVICES - 1);
      const quiet = [DEVICES - 1];
      const run = async (idleEvictAfterMs: number): Promise<[ScoredPoint[], number[]]> => {
        const opened = await open();
        try {
          const engine = await createEngine({
            store: opened.store,
            spoolDir: await tempDir(),
            checkpointEveryMs: 0,
            scoreFeedPerSecond: Infinity,
            idleEvictAfterMs,
            ...mode,
          });
          const scores: ScoredPoint[] = [];
          engine.subscribe((item) => {
            if (item.type === 'score') scores.push(item.point);
          });
          const evicted: number[] = [];
          await engine.ingest(points(ALL, 0, 100), 'test');
          await engine.checkpoint();
          evicted.push(engine.stats().evictedSeries);
          // dev9 falls 100 s of event time behind the others: idle.
          await engine.ingest(points(busy, 100, 200), 'test');
          await engine.checkpoint();
          evicted.push(engine.stats().evictedSeries);
          await engine.ingest(points(busy, 200, 210), 'test');
          await engine.ingest(points(quiet, 200, 300), 'test');
          await engine.ingest(points(busy, 210, 300), 'test');
          await engine.flush();
          evicted.push(engine.stats().evictedSeries);
          await engine.close();
          return [scores, evicted];
        } finally {
          await opened.close();
        }
      };
      const [kept, none] = await run(0);
      const [evictedRun, counts] = await run(60_000);
      assert.deepEqual(none, [0, 0, 0]);
      assert.deepEqual(counts, [0, METRICS.length, 0], 'dev9 left memory, then came back');
      const order = (s: ScoredPoint): string => `${s.timestamp}|${s.device_id}|${s.metric}`;
      const sorted = (list: ScoredPoint[]): ScoredPoint[] =>
        [...list].sort((x, y) => (order(x) < order(y) ? -1 : order(x) > order(y) ? 1 : 0));
      assert.equal(evictedRun.length, kept.length);
      assert.deepEqual(sorted(evictedRun), sorted(kept));
      assert.ok(
        kept.some(
          (s) =>
            s.device_id === `dev${DEVICES - 1}` && s.timestamp >= BASE + 200_000 && s.score > 0,
        ),
        'the revived series scores something',
      );
    });
  });
}

checkpointSuite(
  'PGlite',
  async () => {
    const store = await openStore();
    return { store, close: () => store.close() };
  },
  {},
);

let schemas = 0;
async function openPostgres(): Promise<Opened> {
  const schema = `${RUN}_${schemas++}`;
  const store = await openStore({ databaseUrl: PG_URL, schema, timescale: 'off' });
  return {
    store,
    schema,
    close: async () => {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

checkpointSuite('PostgreSQL', openPostgres, {});
checkpointSuite('PostgreSQL, 2 scoring workers', openPostgres, { workers: 2 });
