import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { Registry } from 'prom-client';
import { openPostgresStore } from '../store/postgres-store.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { engineMetrics } from './metrics.js';
import { spooledBatch } from './spool-record.js';
import { isDataError, StoreWriter, type StoreChunk } from './store-writer.js';
import type { ValidPoint } from './validate.js';

const URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = `vigil_test_${process.pid}_${Date.now().toString(36)}_rejects`;
const T = Date.UTC(2024, 0, 1);

after(async () => {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await c.end();
});

/** 100 points, two of them (rows 17 and 80) refused by the database: what validation now refuses. */
function chunkWithBadRows(): StoreChunk {
  const points: ValidPoint[] = [];
  for (let i = 0; i < 100; i++) {
    const bad = i === 17 || i === 80;
    points.push({
      timestamp: T + i * 1000,
      device_id: 'd',
      metrics: { v: i },
      ...(bad ? { tags: { k: `x\ud800${i}` } } : {}),
    });
  }
  return { segment: 1, points: points.length, rows: spooledBatch(points).rows };
}

async function storedValues(store: Store): Promise<number[]> {
  const raw = await store.querier.points({ device: 'd', metric: 'v', from: 0, to: T + 1e9 });
  assert.equal(raw.kind, 'raw');
  return Array.from(raw.values);
}

async function check(store: Store): Promise<void> {
  const registry = new Registry();
  const log: string[] = [];
  const committed: StoreChunk[] = [];
  const writer = new StoreWriter({
    store,
    batchRows: 1000,
    clock: Date.now,
    metrics: engineMetrics(registry),
    log: (m) => log.push(m),
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, resumeAfterMs: 50 },
    onCommitted: async (chunks) => {
      committed.push(...chunks);
    },
  });
  writer.push([chunkWithBadRows()]);
  while (!writer.idle) await writer.round();
  const expected = Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 17 && i !== 80);
  assert.deepEqual(await storedValues(store), expected);
  assert.equal(committed.length, 1);
  assert.equal(writer.unstoredIn(1), 0);
  const letters = await store.pointDeadLetters.list();
  assert.deepEqual(
    letters.map((l) => l.row.split('\t')[4]),
    ['{"k":"x\\\\ud80017"}\n', '{"k":"x\\\\ud80080"}\n'],
  );
  for (const l of letters) assert.match(l.error, /invalid input syntax for type json/);
  const metric = await registry.getSingleMetric('vigil_store_rejected_rows_total')?.get();
  assert.equal(metric?.values[0]?.value, 2);
  assert.equal(log.filter((m) => m.includes('point_dead_letters')).length, 2);

  // Not stalled: the next chunk is stored as usual.
  writer.push([
    {
      segment: 2,
      points: 1,
      rows: spooledBatch([{ timestamp: T + 500_000, device_id: 'd', metrics: { v: 500 } }]).rows,
    },
  ]);
  while (!writer.idle) await writer.round();
  assert.equal((await storedValues(store)).at(-1), 500);
}

describe('store writer: rows the database refuses', () => {
  it('a data exception is told from a lost connection', () => {
    assert.ok(isDataError({ code: '22P02' }));
    assert.ok(isDataError(new Error('x', { cause: { code: '22021' } })));
    assert.ok(isDataError(new Error('invalid input syntax for type json')));
    assert.ok(!isDataError({ code: '23505' }));
    assert.ok(!isDataError({ code: '08006' }));
    assert.ok(!isDataError(new Error('Connection terminated')));
  });

  it('PostgreSQL: bisects, stores the rest, dead-letters the refused rows', async () => {
    const store = await openPostgresStore({ databaseUrl: URL, schema: SCHEMA });
    try {
      await check(store);
    } finally {
      await store.close();
    }
  });

  it('PGlite: the same', async () => {
    const store = await openStore();
    try {
      await check(store);
    } finally {
      await store.close();
    }
  });
});
