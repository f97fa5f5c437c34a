import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Welford } from './welford.js';
import { assertClose, randomSeries } from './test-data.js';

function batch(values: ArrayLike<number>, from: number, to: number): [number, number] {
  let s = 0;
  for (let i = from; i < to; i++) s += values[i] as number;
  const mean = s / (to - from);
  let q = 0;
  for (let i = from; i < to; i++) q += ((values[i] as number) - mean) ** 2;
  return [mean, q / (to - from)];
}

test('Welford add/remove tracks a sliding range like the batch formulas', () => {
  const xs = randomSeries(7, 5000, 100, 1e6);
  const w = new Welford();
  const width = 50;
  for (let i = 0; i < xs.length; i++) {
    w.add(xs[i] as number);
    if (i >= width) w.remove(xs[i - width] as number);
    if (i >= width && i % 97 === 0) {
      const [mean, variance] = batch(xs, i - width + 1, i + 1);
      assertClose(w.mean, mean, 1e-12, `mean at ${i}`);
      assertClose(w.variance, variance, 1e-6, `variance at ${i}`);
    }
  }
});

test('Welford state round-trips and removing the last value empties it', () => {
  const w = new Welford();
  w.add(3);
  w.add(5);
  const copy = Welford.fromState(JSON.parse(JSON.stringify(w.state())));
  assert.equal(copy.mean, 4);
  assert.equal(copy.sampleVariance, 2);
  copy.remove(3);
  copy.remove(5);
  assert.equal(copy.count, 0);
  assert.equal(copy.variance, 0);
});
