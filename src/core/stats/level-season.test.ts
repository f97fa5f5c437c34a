import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LevelSeasonModel, type LevelSeasonState } from './level-season.js';
import { assertClose, randomSeries } from './test-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('predictions follow the level + slot offset recurrences computed in batch (offsets on a 16-bit grid)', () => {
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
      // The offsets are rounded to 2^-13 of the first one (here ~1: a step of 2^-13..2^-14);
      // rounding errors decay with the recurrences, so they stay within a few steps.
      assertClose(model.expected(t), level + offset, 2e-3, `point ${i}`);
    }
    model.learn(t, x);
    if (i === 0) level = x;
    else if (offset === undefined) offsets.set(slot, x - level);
    else {
      level += 0.2 * (x - offset - level);
      offsets.set(slot, offset + 0.1 * (x - level - offset));
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

test('offsets are whole multiples of a power-of-two step that grows with the largest offset', () => {
  const model = new LevelSeasonModel(DAY, 0.5, 0, 24);
  const grid = (state: LevelSeasonState): void => {
    assert.ok(state.step! > 0 && Number.isInteger(Math.log2(state.step!)), 'a power of two');
    for (const x of state.offsets!) {
      if (x !== null) {
        assert.ok(Number.isInteger(x / state.step!), `${x} on the grid of ${state.step}`);
        assert.ok(Math.abs(x / state.step!) <= 32767, `${x} in 16 bits`);
      }
    }
  };
  model.learn(0, 0);
  model.learn(HOUR, 0.001); // the first offset: a step of 2^-23
  grid(model.state());
  const small = model.expected(HOUR);
  assert.ok(Math.abs(small - 0.001) <= 2 ** -23, `${small}`);
  model.learn(2 * HOUR, 1e6); // far out of range: the step grows, every slot requantised
  const state = model.state();
  grid(state);
  assert.ok(state.step! >= 1e6 / 32767 && state.step! <= (2 * 1e6) / 16384, `step ${state.step}`);
  assert.ok(Math.abs(model.expected(2 * HOUR) - 1e6) <= state.step!);
  // The small offset is now zero on the coarse grid: precision is relative to the largest offset.
  assert.equal(model.expected(HOUR), 0);
});

test('a state restores onto the same grid bit for bit; one written with float32 offsets gets one', () => {
  const model = new LevelSeasonModel(DAY, 0.1, 0.2, 24);
  for (let i = 0; i < 24 * 5; i++) model.learn(i * HOUR, 100 + 30 * Math.sin(i / 3) + (i % 7));
  const state = JSON.parse(JSON.stringify(model.state())) as LevelSeasonState;
  const copy = new LevelSeasonModel(DAY, 0.1, 0.2, 24, state);
  assert.deepEqual(copy.state(), model.state());
  for (let i = 0; i < 24; i++) {
    model.learn((200 + i) * HOUR, 90 + i);
    copy.learn((200 + i) * HOUR, 90 + i);
    assert.equal(copy.expected((201 + i) * HOUR), model.expected((201 + i) * HOUR));
  }
  const offsets = [0.1, -12.3456789, null, 25.5];
  const old = new LevelSeasonModel(DAY, 0.1, 0.2, 4, { firstTime: 0, level: 50, offsets });
  const restored = old.state();
  assert.equal(restored.step, 2 ** -9, 'the step the largest offset (25.5) chooses');
  restored.offsets!.forEach((x, i) => {
    const was = offsets[i];
    if (was === null || was === undefined) assert.equal(x, null);
    else assert.ok(Math.abs(x! - was) <= 2 ** -10, `${x} ≈ ${was}`);
  });
});
