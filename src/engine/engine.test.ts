import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { BackpressureError, type IngestPoint, type ScoredPoint } from './engine.js';
import { createEngine, type EngineOptions } from './create-engine.js';
import { SpoolLog } from './log/spool-log.js';

const BASE = Date.UTC(2025, 0, 1);
const PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const RUN = `vigil_engine_${process.pid}_${Date.now().toString(36)}`;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-engine-'));
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

function series(n: number, from = 0, device = 'pump-1'): IngestPoint[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      timestamp: BASE + i * 1000,
      device_id: device,
      metrics: { temp: 20 + Math.sin(i / 5) + (i === 150 ? 30 : 0), rpm: 1000 + (i % 7) },
    };
  });
}

async function storedTimes(store: Store, device: string, metric: string): Promise<number[]> {
  const raw = await store.querier.points({ device, metric, from: 0, to: BASE * 2 });
  assert.equal(raw.kind, 'raw');
  return [...raw.times];
}

function engineSuite(
  name: string,
  open: () => Promise<{ store: Store; close(): Promise<void> }>,
  mode: Partial<EngineOptions> = {},
): void {
  describe(`engine on ${name}`, () => {
    const start = async (
      store: Store,
      extra: Partial<EngineOptions> = {},
    ): Promise<Awaited<ReturnType<typeof createEngine>>> =>
      createEngine({ store, spoolDir: await tempDir(), checkpointEveryMs: 0, ...mode, ...extra });

    it('stores every accepted point once, scores it, and reports bad points by index', async () => {
      const { store, close } = await open();
      try {
        const engine = await start(store);
        const scores: ScoredPoint[] = [];
        engine.subscribe((item) => {
          if (item.type === 'score') scores.push(item.point);
        });
        const bad = [
          ...series(3),
          { timestamp: BASE, device_id: 'x', metrics: { temp: Number.NaN } },
          { timestamp: 1.5, device_id: 'x', metrics: { temp: 1 } },
          { timestamp: BASE, device_id: '', metrics: { temp: 1 } },
          { timestamp: BASE, device_id: 'x', metrics: {} },
          { timestamp: BASE, device_id: 'x', metrics: { temp: Number.POSITIVE_INFINITY } },
        ] as IngestPoint[];
        const result = await engine.ingest(bad, 'test');
        assert.equal(result.accepted, 3);
        assert.deepEqual(
          result.errors.map((e) => e.index),
          [3, 4, 5, 6, 7],
        );
        assert.match(result.errors[0]?.message ?? '', /^metrics\.temp: NaN/);
        assert.match(result.errors[1]?.message ?? '', /^timestamp/);
        assert.match(result.errors[2]?.message ?? '', /^device_id/);
        assert.match(result.errors[4]?.message ?? '', /^metrics\.temp: Infinity/);
        await Promise.all([
          engine.ingest(series(50, 3), 'test'),
          engine.ingest(series(47, 53), 'test'),
        ]);
        await engine.flush();
        assert.equal((await storedTimes(store, 'pump-1', 'temp')).length, 100);
        assert.equal((await storedTimes(store, 'pump-1', 'rpm')).length, 100);
        assert.equal(engine.stats().scored, 200);
        assert.equal(scores.length, 200);
        await engine.close();
      } finally {
        await close();
      }
    });

    it('stores out-of-order and duplicate points once and scores only points after the last scored time', async () => {
      const { store, close } = await open();
      try {
        const engine = await start(store);
        const p = (s: number, v: number): IngestPoint => ({
          timestamp: BASE + s * 1000,
          device_id: 'd',
          metrics: { m: v },
        });
        await engine.ingest([p(1, 1), p(3, 3)], 'test');
        await engine.flush();
        // Late (older than the last scored point) and duplicate (same time): stored once, not scored.
        await engine.ingest([p(2, 2), p(3, 99), p(3, 98)], 'test');
        await engine.flush();
        await engine.ingest([p(4, 4)], 'test');
        await engine.close();
        const raw = await store.querier.points({ device: 'd', metric: 'm', from: 0, to: BASE * 2 });
        assert.deepEqual([...raw.times], [BASE + 1000, BASE + 2000, BASE + 3000, BASE + 4000]);
        assert.equal(raw.kind === 'raw' ? raw.values[2] : 0, 3); // first value wins
        assert.equal(engine.stats().scored, 3);
        assert.equal(engine.stats().notScored, 3);
      } finally {
        await close();
      }
    });

    it('rejects a whole batch with BackpressureError when the queue is full', async () => {
      const { store, close } = await open();
      try {
        // The limit counts values: 200 is 100 points of two metrics.
        const engine = await start(store, { queueLimit: 200 });
        await assert.rejects(engine.ingest(series(101), 'test'), (error: unknown) => {
          assert.ok(error instanceof BackpressureError);
          assert.ok(error.retryAfterMs > 0);
          return true;
        });
        // Fill the queue without letting the writer run, then overflow it.
        const first = engine.ingest(series(80), 'test');
        await assert.rejects(engine.ingest(series(30, 80), 'test'), BackpressureError);
        await first;
        await engine.flush();
        await engine.ingest(series(30, 80), 'test');
        await engine.close();
        assert.equal((await storedTimes(store, 'pump-1', 'temp')).length, 110);
        assert.equal(engine.stats().rejected, 131);
      } finally {
        await close();
      }
    });

    it('resumes from a checkpoint with the scores of an uninterrupted run', async () => {
      const collect = (
        engine: Awaited<ReturnType<typeof createEngine>>,
        into: ScoredPoint[],
      ): void => {
        engine.subscribe((item) => {
          if (item.type === 'score') into.push(item.point);
        });
      };
      const a = await open();
      const whole: ScoredPoint[] = [];
      try {
        const engine = await start(a.store, { scoreFeedPerSecond: Infinity });
        collect(engine, whole);
        for (let i = 0; i < 300; i += 50) await engine.ingest(series(50, i), 'test');
        await engine.close();
      } finally {
        await a.close();
      }
      const b = await open();
      const resumed: ScoredPoint[] = [];
      try {
        const spoolDir = await tempDir();
        const first = await createEngine({
          store: b.store,
          spoolDir,
          checkpointEveryMs: 0,
          ...mode,
        });
        for (let i = 0; i < 150; i += 50) await first.ingest(series(50, i), 'test');
        await first.close();
        assert.deepEqual(await readdir(spoolDir), []);
        const second = await createEngine({
          store: b.store,
          spoolDir,
          checkpointEveryMs: 0,
          scoreFeedPerSecond: Infinity,
          ...mode,
        });
        collect(second, resumed);
        // Overlapping points (already covered by the checkpoint) are stored but not scored again.
        await second.ingest(series(10, 140), 'test');
        for (let i = 150; i < 300; i += 50) await second.ingest(series(50, i), 'test');
        await second.close();
        assert.equal(second.stats().notScored, 20);
        const events = await b.store.querier.events({});
        assert.ok(events.length >= 1, 'the injected spike raises an event');
      } finally {
        await b.close();
      }
      assert.equal(resumed.length, 300);
      assert.deepEqual(resumed, whole.slice(300));
    });

    it('detect scores without changing the live state', async () => {
      const { store, close } = await open();
      try {
        const engine = await start(store, { scoreFeedPerSecond: Infinity });
        await engine.ingest(series(100), 'test');
        await engine.flush();
        const probe = series(5, 100);
        const once = await engine.detect(probe);
        const twice = await engine.detect(probe);
        assert.equal(once.length, 10);
        assert.deepEqual(once, twice);
        const live: ScoredPoint[] = [];
        engine.subscribe((item) => {
          if (item.type === 'score') live.push(item.point);
        });
        await engine.ingest(probe, 'test');
        await engine.flush();
        assert.deepEqual(live, once);
        await engine.close();
      } finally {
        await close();
      }
    });

    it('writes ahead to the durable log it is given, and trims it once stored and checkpointed', async () => {
      const { store, close } = await open();
      try {
        const dir = await tempDir();
        const unused = join(await tempDir(), 'spool');
        const appended: number[] = [];
        const engine = await start(store, {
          spoolDir: unused,
          openLog: async (onDurable) => {
            const spool = await SpoolLog.open(dir, onDurable);
            return {
              append: (batch) => {
                appended.push(batch.points.length);
                return spool.append(batch);
              },
              read: (after) => spool.read(after),
              sync: () => spool.sync(),
              trim: (through) => spool.trim(through),
              size: () => spool.size(),
              close: () => spool.close(),
            };
          },
        });
        await engine.ingest(series(40), 'test');
        await engine.ingest(series(60, 40), 'test');
        assert.deepEqual(appended, [40, 60]);
        await engine.flush();
        assert.equal((await storedTimes(store, 'pump-1', 'temp')).length, 100);
        assert.equal(engine.stats().log.entries, 2);
        await engine.checkpoint();
        assert.equal(engine.stats().log.entries, 0, 'stored and checkpointed: trimmed');
        await engine.close();
        await assert.rejects(readdir(unused), { code: 'ENOENT' });
      } finally {
        await close();
      }
    });
  });
}

engineSuite('PGlite in memory', async () => {
  const store = await openStore();
  return { store, close: () => store.close() };
});

let schemas = 0;
async function openPostgres(): Promise<{ store: Store; close(): Promise<void> }> {
  const schema = `${RUN}_${schemas++}`;
  const store = await openStore({ databaseUrl: PG_URL, schema, timescale: 'off' });
  return {
    store,
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

engineSuite('PostgreSQL', openPostgres);
// The same guarantees with scoring in worker threads (series sharded by device).
engineSuite('PostgreSQL, 2 scoring workers', openPostgres, { workers: 2 });
