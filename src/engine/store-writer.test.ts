import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { VigilError } from '../errors.js';
import { openStore } from '../store/open-store.js';
import type { Appender, Store } from '../store/store.js';
import { spooledBatch } from './spool-record.js';
import { StoreWriter, type StoreChunk } from './store-writer.js';

const stores: Store[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

/** A real store whose next `failures` commits fail as if the connection dropped. */
async function flakyStore(): Promise<{ store: Store; fail(n: number): void }> {
  const real = await openStore();
  stores.push(real);
  let failures = 0;
  const store: Store = Object.create(real) as Store;
  store.appender = (): Appender => {
    const appender = real.appender();
    const commit = appender.commit.bind(appender);
    appender.commit = () => {
      if (failures > 0) {
        failures--;
        return Promise.reject(new VigilError('VIGIL_ERR_STORE_UNAVAILABLE', 'connection lost'));
      }
      return commit();
    };
    return appender;
  };
  return { store, fail: (n) => (failures = n) };
}

function chunk(segment: number, device: string, first: number, n: number): StoreChunk {
  const points = Array.from({ length: n }, (_, i) => ({
    timestamp: first + i * 1000,
    device_id: device,
    metrics: { a: i, b: -i },
  }));
  const batch = spooledBatch(points);
  return { segment, points: n, rows: batch.rows };
}

async function rows(store: Store, device: string): Promise<number> {
  const series = await store.querier.series(device);
  let total = 0;
  for (const s of series) {
    const raw = await store.querier.points({ device, metric: s.metric, from: 0, to: 2e12 });
    if ('times' in raw) total += raw.times.length;
  }
  return total;
}

const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, resumeAfterMs: 50 };

describe('store writer', () => {
  it('retries failed commits, commits each chunk once, in order, and tracks segments', async () => {
    const { store, fail } = await flakyStore();
    const committed: number[][] = [];
    const log: string[] = [];
    const writer = new StoreWriter({
      store,
      batchRows: 40,
      clock: Date.now,
      metrics: undefined,
      log: (m) => log.push(m),
      retry: fast,
      onCommitted: async (chunks) => {
        committed.push(chunks.map((c) => c.segment));
      },
    });
    fail(2);
    // 20 rows each; at most 40 per commit.
    writer.push([chunk(1, 'w1', 1000, 10), chunk(1, 'w1', 100_000, 10)]);
    writer.push([chunk(2, 'w1', 200_000, 10)]);
    assert.equal(writer.unstoredIn(1), 40);
    assert.equal(writer.unstoredIn(2), 20);
    while (!writer.idle) await writer.round();
    assert.deepEqual(committed, [[1, 1], [2]]);
    assert.equal(writer.unstoredIn(1), 0);
    assert.equal(writer.unstoredIn(2), 0);
    assert.equal(await rows(store, 'w1'), 60);
    assert.deepEqual(log, [
      'store write failed (attempt 1), retrying: VigilError: connection lost',
      'store write failed (attempt 2), retrying: VigilError: connection lost',
    ]);
  });

  it('gives up after its retries, reports the error once, keeps the rows and resumes', async () => {
    const { store, fail } = await flakyStore();
    const writer = new StoreWriter({
      store,
      batchRows: 1000,
      clock: Date.now,
      metrics: undefined,
      log: () => {},
      retry: fast,
      onCommitted: async () => {},
    });
    fail(4); // the first try and 3 retries
    writer.push([chunk(7, 'w2', 1000, 5)]);
    await assert.rejects(writer.round(), /connection lost/);
    assert.equal(writer.idle, false, 'the rows stay queued');
    assert.equal(writer.unstoredIn(7), 10);
    assert.equal(await rows(store, 'w2'), 0);
    // The error is reported once; writing resumes by itself and now succeeds.
    while (!writer.idle) await writer.round();
    assert.equal(await rows(store, 'w2'), 10);
    assert.equal(writer.unstoredIn(7), 0);
  });
});

describe('store writer: stop', () => {
  it('ends a backoff under way, retries nothing more and reports nothing committed', async () => {
    const { store, fail } = await flakyStore();
    const committed: number[] = [];
    const writer = new StoreWriter({
      store,
      batchRows: 40,
      clock: Date.now,
      metrics: undefined,
      log: () => undefined,
      // Backoffs of a minute: only stop can end the wait within the test.
      retry: { attempts: 100, baseDelayMs: 60_000, maxDelayMs: 60_000, resumeAfterMs: 60_000 },
      onCommitted: async (chunks) => {
        committed.push(...chunks.map((c) => c.segment));
      },
    });
    fail(1_000);
    writer.push([chunk(1, 'stop-1', 1000, 10)]);
    const round = writer.round().catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first commit failed
    writer.stop();
    assert.match(String(await round), /connection lost/);
    fail(0);
    writer.push([chunk(2, 'stop-1', 100_000, 10)]);
    await writer.round().catch(() => undefined);
    assert.deepEqual(committed, []);
    assert.equal(writer.unstoredIn(1), 20);
    assert.equal(await rows(store, 'stop-1'), 0);
  });
});
