import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { mergeBuckets, ScoreHistoryWriter } from './score-history.js';
import { handFeed } from './testing/hand-feed.js';

/** Inside the store's retention (older buckets are pruned with the points). */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

let store: Store;
before(async () => {
  store = await openStore();
});
after(() => store.close());

test('the writer saves per series and minute the highest score and level, and on close', async () => {
  const f = handFeed();
  const writer = new ScoreHistoryWriter(f, store.scoreHistory, { flushMs: 3_600_000 });
  f.score({ timestamp: T0 + 1_000, score: 0.5 });
  f.score({ timestamp: T0 + 2_000, score: 9, level: 'severe' });
  f.score({ timestamp: T0 + 3_000, score: 1 });
  f.score({ timestamp: T0 + 61_000, score: 2, level: 'alert' });
  f.score({ device_id: 'e', timestamp: T0 + 1_000, score: Infinity });
  assert.deepEqual(
    writer.unsaved('d', 'm', T0, T0 + 60_000).map((b) => [b.time, b.score, b.level]),
    [[T0, 9, 2]],
  );
  await writer.flush();
  assert.deepEqual(writer.unsaved('d', 'm', 0, Infinity), []);
  f.score({ timestamp: T0 + 62_000, score: 7 });
  await writer.close();
  f.score({ timestamp: T0 + 63_000, score: 100 });
  const saved = await store.scoreHistory.range('d', 'm', T0, T0 + 3_600_000);
  assert.deepEqual(
    saved.map((b) => [b.time, b.score, b.level]),
    [
      [T0, 9, 2],
      [T0 + 60_000, 7, 1],
    ],
  );
  const e = await store.scoreHistory.range('e', 'm', T0, T0 + 60_000);
  assert.equal(e[0]?.score, 0, 'a non-finite score is stored as 0, like the ring keeps it');
});

test('a writer that cannot save keeps its buckets, bounded, and saves them later', async () => {
  const f = handFeed();
  let failing = true;
  const saved: number[] = [];
  const writer = new ScoreHistoryWriter(
    f,
    {
      async save(buckets) {
        if (failing) throw new Error('store down');
        saved.push(...buckets.map((b) => b.time));
      },
      range: async () => [],
      latest: async () => [],
    },
    { flushMs: 3_600_000, maxPending: 2 },
  );
  for (let i = 0; i < 3; i++) f.score({ timestamp: T0 + i * 60_000, score: i });
  assert.equal(writer.dropped, 1);
  await writer.flush();
  failing = false;
  await writer.close();
  assert.deepEqual(saved.sort(), [T0, T0 + 60_000]);
});

test('merged buckets: one run, oldest first, the higher of a minute in both', () => {
  const b = (time: number, score: number, level: number) => ({
    device: 'd',
    metric: 'm',
    time,
    score,
    level,
  });
  assert.deepEqual(mergeBuckets([b(120, 1, 0), b(60, 5, 1)], [b(60, 3, 2)]), {
    times: [60, 120],
    scores: [5, 1],
    levels: [2, 0],
    thresholds: [null, null],
  });
  const t = (time: number, threshold?: [number, number]) => ({
    ...b(time, 0, 0),
    ...(threshold === undefined ? {} : { threshold }),
  });
  assert.deepEqual(
    mergeBuckets([t(0, [1, 2]), t(60)], [t(0, [3, 4]), t(60, [5, 6]), t(120)]).thresholds,
    [[1, 2], [5, 6], null],
    'the stored threshold stays; an unsaved one fills a bucket stored without',
  );
});

test("the writer saves the threshold read at a minute's first point, and none without", async () => {
  const f = handFeed();
  const writer = new ScoreHistoryWriter(f, store.scoreHistory, { flushMs: 3_600_000 });
  f.score({ metric: 'th', timestamp: T0 + 1_000, score: 0.1, threshold: [10, 20] });
  f.score({ metric: 'th', timestamp: T0 + 2_000, score: 0.7, level: 'alert' });
  f.score({ metric: 'th', timestamp: T0 + 61_000, score: 0.1 }); // warming up: none
  f.score({ metric: 'th', timestamp: T0 + 121_000, score: 0.1, threshold: [Number.NaN, 1] });
  assert.deepEqual(writer.unsaved('d', 'th', T0, T0 + 60_000)[0]?.threshold, [10, 20]);
  await writer.close();
  const saved = await store.scoreHistory.range('d', 'th', T0, T0 + 3_600_000);
  assert.deepEqual(
    saved.map((x) => [x.time - T0, x.score, x.level, x.threshold ?? null]),
    [
      [0, 0.699999988079071, 1, [10, 20]],
      [60_000, 0.10000000149011612, 0, null],
      [120_000, 0.10000000149011612, 0, null],
    ],
  );
});
