import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { parseStrategy } from '../core/strategy/parse.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { EngineFeedItem, IngestPoint, ScoredPoint, Engine } from './engine.js';
import { createEngine } from './create-engine.js';

const BASE = Date.UTC(2025, 0, 1);
const PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const RUN = `vigil_vector_${process.pid}_${Date.now().toString(36)}`;
const DEVICES = ['rig-1', 'rig-2', 'rig-3'];
/** A strategy that scores a device's three metrics together; other devices get the default. */
const RIGS = parseStrategy(
  [
    'name: rigs',
    'version: 1',
    'description: the rigs, scored as vectors',
    'trigger_rules:',
    '  - device: "rig-*"',
    'detector:',
    '  kind: pca',
    '  params:',
    '    training_points: 100',
    'threshold:',
    '  kind: static',
    '  params:',
    '    alert: 0.9',
    '    severe: 0.99',
    '',
  ].join('\n'),
);

const tempDirs: string[] = [];
let schemas = 0;
const stores: { store: Store; schema: string }[] = [];
after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    for (const { schema } of stores) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
});

async function store(): Promise<Store> {
  const schema = `${RUN}_${schemas++}`;
  const s = await openStore({ databaseUrl: PG_URL, schema, timescale: 'off' });
  stores.push({ store: s, schema });
  return s;
}

/** Three related metrics per rig (b ≈ 2a, c ≈ a + b); from i = 260 to 269 `c` breaks away. */
function points(from: number, n: number): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let i = from; i < from + n; i++) {
    for (const [k, device] of DEVICES.entries()) {
      const a = 10 + Math.sin(i / 9 + k) * 3 + ((i * 7 + k) % 5) * 0.01;
      const b = 2 * a + ((i * 3 + k) % 7) * 0.01;
      const broken = i >= 260 && i < 270 ? 40 : 0;
      out.push({
        timestamp: BASE + i * 1000,
        device_id: device,
        metrics: { c: a + b + broken, a, b },
      });
    }
    out.push({ timestamp: BASE + i * 1000, device_id: 'pump-9', metrics: { temp: 20 + (i % 3) } });
  }
  return out;
}

async function run(
  s: Store,
  spoolDir: string,
  workers: number,
  from: number,
  n: number,
): Promise<{ scores: ScoredPoint[]; events: EngineFeedItem[]; engine: Engine }> {
  const engine = await createEngine({
    store: s,
    spoolDir,
    checkpointEveryMs: 0,
    strategies: [RIGS],
    scoreFeedPerSecond: 1e9,
    workers,
  });
  const scores: ScoredPoint[] = [];
  const events: EngineFeedItem[] = [];
  engine.subscribe((item) => (item.type === 'score' ? scores.push(item.point) : events.push(item)));
  for (let i = from; i < from + n; i += 50) await engine.ingest(points(i, 50), 'test');
  await engine.close();
  return { scores, events, engine };
}

const byPoint = (scores: readonly ScoredPoint[]): Map<string, ScoredPoint> =>
  new Map(scores.map((s) => [`${s.device_id}|${s.metric}|${s.timestamp}`, s]));

describe('vector strategies in the live engine', () => {
  for (const workers of [0, 2]) {
    it(`points with several metrics get one vector score and one device event (${workers} scoring workers)`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vigil-vector-'));
      tempDirs.push(dir);
      const s = await store();
      const { scores, events } = await run(s, dir, workers, 0, 400);
      await s.close();
      const rigScores = scores.filter((p) => p.device_id.startsWith('rig-'));
      assert.equal(rigScores.length, 400 * DEVICES.length * 3, 'every metric of every point');
      assert.ok(rigScores.every((p) => p.strategy === 'rigs@1'));
      assert.ok(
        scores.filter((p) => p.device_id === 'pump-9').every((p) => p.strategy === 'default@1'),
      );
      // One score per point: the three metrics of a point share it.
      for (const device of DEVICES) {
        for (let i = 0; i < 400; i += 37) {
          const same = rigScores.filter(
            (p) => p.device_id === device && p.timestamp === BASE + i * 1000,
          );
          assert.deepEqual(
            same.map((p) => p.metric),
            ['a', 'b', 'c'],
          );
          assert.equal(new Set(same.map((p) => p.score)).size, 1);
        }
      }
      // The broken relation raises a device-level event (metric null) per rig, explained by `c`.
      const stored = await (async () => {
        const again = await openStore({
          databaseUrl: PG_URL,
          schema: stores.at(-1)?.schema as string,
          timescale: 'off',
        });
        try {
          return await again.querier.events({ strategy: 'rigs' });
        } finally {
          await again.close();
        }
      })();
      assert.deepEqual([...new Set(stored.map((e) => e.device))].sort(), DEVICES);
      assert.ok(stored.every((e) => e.metric === null && e.start >= BASE + 260_000));
      assert.ok(events.some((e) => e.type === 'event' && e.change === 'open'));
    });
  }

  it('a device group restored from a checkpoint (2 workers, then in-process) scores as an uninterrupted run', async () => {
    const a = await store();
    const whole = await run(a, await mkdtemp(join(tmpdir(), 'vigil-vector-')), 0, 0, 400);
    await a.close();
    const b = await store();
    const spoolDir = await mkdtemp(join(tmpdir(), 'vigil-vector-'));
    tempDirs.push(spoolDir);
    await run(b, spoolDir, 2, 0, 200);
    const resumed = await run(b, spoolDir, 0, 200, 200);
    await b.close();
    const expected = byPoint(whole.scores.filter((p) => p.timestamp >= BASE + 200_000));
    assert.equal(resumed.scores.length, expected.size);
    assert.deepEqual(byPoint(resumed.scores), expected);
  });
});
