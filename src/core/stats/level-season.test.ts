import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LevelSeasonModel } from './level-season.js';
import { assertClose, randomSeries } from './test-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('predictions follow the level + slot offset recurrences computed in batch (offsets in float32)', () => {
  const noise = randomSeries(5, 24 * 10, 0.5);
  const model = new LevelSeasonModel(DAY, 0.1, 0.2, 1440);
  let level = Number.NaN;
  const offsets = new Map<number, number>();
  for (let i = 0; i < noise.length; i++) {
    const t = Date.UTC(2024, 0, 1) + i * HOUR;
    const x = 10 + 5 * Math.sin((2 * Math.PI * i) / 24) + noise[i]! + i * 0.01;
    const slot = i % 24;
    const offset = offsets.get(slot);
    if (i === 0 || offset === undefined) {
      assert.ok(Number.isNaN(model.expected(t)), `point ${i}: slot ${slot} not known yet`);
    } else {
      assertClose(model.expected(t), level + offset, 1e-12, `point ${i}`);
    }
    model.learn(t, x);
    if (i === 0) level = x;
    else if (offset === undefined) offsets.set(slot, Math.fround(x - level));
    else {
      level += 0.2 * (x - offset - level);
      offsets.set(slot, Math.fround(offset + 0.1 * (x - level - offset)));
    }
  }
});

test('slots are capped for fast series, and the state round-trips', () => {
  const model = new LevelSeasonModel(DAY, 0.1, 0.2, 100);
  model.learn(0, 1);
  model.learn(1000, 2); // 1 s sampling would mean 86,400 slots
  const state = model.state();
  assert.equal(state.offsets!.length, 100);
  const copy = new LevelSeasonModel(DAY, 0.1, 0.2, 100, JSON.parse(JSON.stringify(state)));
  assert.equal(copy.expected(1000), model.expected(1000));
});
