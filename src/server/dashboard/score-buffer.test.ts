import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScoreBuffer } from './score-buffer.js';
import { sampleIngestRate } from './ingest-rate.js';
import { handFeed } from './testing/hand-feed.js';

test('the score buffer keeps the last scores per series, in order, across the ring wrap', () => {
  const f = handFeed();
  const buffer = new ScoreBuffer(f, { perSeries: 50 });
  for (let i = 0; i < 120; i++) f.score({ timestamp: i * 1000, score: i / 1000 });
  const all = buffer.range('d', 'm', 0, 1e9);
  assert.equal(all.times.length, 50);
  assert.deepEqual(all.times.slice(0, 2), [70_000, 71_000]);
  assert.equal(all.times.at(-1), 119_000);
  assert.deepEqual(buffer.range('other', 'm', 0, 1e9), {
    times: [],
    score: [],
    level: [],
    threshold_lower: [],
    threshold_upper: [],
  });
  buffer.close();
  assert.equal(f.size, 0, 'close unsubscribes');
});

test('bucketed scores keep the highest score and level of each bucket', () => {
  const f = handFeed();
  const buffer = new ScoreBuffer(f);
  f.score({ timestamp: 10_000, score: 0.1 });
  f.score({ timestamp: 12_000, score: 0.9, level: 'severe' });
  f.score({ timestamp: 14_000, score: 0.2 });
  f.score({ timestamp: 21_000, score: 0.6, level: 'alert' });
  f.score({ timestamp: 31_000, score: 0.3 });
  const r = buffer.range('d', 'm', 10_000, 30_000, 10_000);
  assert.deepEqual(r, {
    times: [10_000, 20_000],
    score: [0.9, 0.6],
    level: ['severe', 'alert'],
    threshold_lower: [null, null],
    threshold_upper: [null, null],
  });
  assert.equal(buffer.latest()[0]?.timestamp, 31_000);
  buffer.close();
});

test('alert thresholds are kept beside their scores: the first of a bucket, bad ones dropped', () => {
  const f = handFeed();
  const buffer = new ScoreBuffer(f, { perSeries: 16 });
  f.score({ timestamp: 0, score: 0.1, threshold: [1, 2] }); // pushed out of the ring below
  for (let i = 1; i <= 10; i++) f.score({ timestamp: i * 1_000, score: 0 });
  f.score({ timestamp: 60_000, score: 0.1, threshold: [3, 4] });
  f.score({ timestamp: 61_000, score: 0.2 });
  f.score({ timestamp: 120_000, score: 0.3, threshold: [Number.NaN, 4] });
  f.score({ timestamp: 180_000, score: 0.4, threshold: [-Infinity, 9] });
  f.score({ timestamp: 181_000, score: 0.4 });
  f.score({ timestamp: 240_000, score: 0.5, threshold: [5, 6] });
  const raw = buffer.range('d', 'm', 10_000, 1e9);
  assert.equal(buffer.range('d', 'm', 0, 1e9).times[0], 1_000, 'the first score left the ring');
  assert.deepEqual(raw.times, [10_000, 60_000, 61_000, 120_000, 180_000, 181_000, 240_000]);
  assert.deepEqual(raw.threshold_lower, [null, 3, null, null, null, null, 5]);
  assert.deepEqual(raw.threshold_upper, [null, 4, null, null, null, null, 6]);
  const perTwoMinutes = buffer.range('d', 'm', 0, 1e9, 120_000);
  assert.deepEqual(perTwoMinutes.times, [0, 120_000, 240_000]);
  assert.deepEqual(perTwoMinutes.threshold_lower, [3, null, 5], 'the first of the bucket');
  assert.deepEqual(perTwoMinutes.threshold_upper, [4, null, 6]);
  buffer.close();
});

test('beyond the cap a new series takes the ring of the least recently scored one', () => {
  const f = handFeed();
  const buffer = new ScoreBuffer(f, { maxSeries: 2 });
  for (const device of ['a', 'b', 'a', 'c']) f.score({ device_id: device, timestamp: 1, score: 0 });
  assert.deepEqual(
    buffer
      .latest()
      .map((s) => s.device)
      .sort(),
    ['a', 'c'],
  );
  assert.equal(buffer.size, 2);
  buffer.close();
});

test('a watched series keeps its ring while others churn, until the watch expires', () => {
  const f = handFeed();
  let now = 0;
  const buffer = new ScoreBuffer(f, { maxSeries: 3, watchMs: 1_000, clock: () => now });
  buffer.watch('opened', 'm');
  for (let i = 0; i < 50; i++) {
    f.score({ device_id: 'opened', timestamp: i * 1000, score: 1 });
    f.score({ device_id: `other-${i}`, timestamp: i * 1000, score: 0 });
  }
  assert.equal(buffer.range('opened', 'm', 0, 1e9).times.length, 50);
  assert.equal(buffer.size, 3);
  now = 5_000;
  for (let i = 50; i < 55; i++) f.score({ device_id: `other-${i}`, timestamp: i * 1000, score: 0 });
  assert.deepEqual(buffer.range('opened', 'm', 0, 1e9).times, [], 'expired, then evicted');
  buffer.close();
});

test('the ingest rate is the counter increase over the sampled window', async () => {
  let n = 0;
  let now = 0;
  const rate = sampleIngestRate(() => n, { everyMs: 5, windowMs: 1_000_000, clock: () => now });
  assert.equal(rate.perSecond(), null);
  n = 500;
  now = 2_000;
  await new Promise((r) => setTimeout(r, 30));
  rate.stop();
  assert.equal(rate.perSecond(), 250);
  assert.equal(rate.total(), 500);
});
