import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeaksOverThreshold } from './peaks-over-threshold.js';
import { assertClose, randomSeries } from './test-data.js';

/** The batch formula: fit the exponential tail to the K largest of `seen`, evaluate at f. */
function batchSurprise(seen: readonly number[], k: number, f: number): number {
  const top = [...seen].sort((a, b) => b - a).slice(0, k);
  const u = top[k - 1]!;
  if (seen.length < k || !(f > u)) return 0;
  const beta = top.reduce((a, b) => a + b, 0) / k - u;
  return -Math.log10((k / seen.length) * Math.exp(-(f - u) / beta));
}

test('streaming tail surprise equals the batch fit over all values seen', () => {
  const values = randomSeries(3, 3000, 10);
  const pot = new PeaksOverThreshold(40);
  const seen: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (i % 97 === 0) {
      for (const probe of [x, 9.5, 9.99, 12]) {
        assertClose(pot.surprise(probe), batchSurprise(seen, 40, probe), 1e-9, `point ${i}`);
      }
    }
    pot.add(x);
    seen.push(x);
  }
});

test('no opinion before K values or below the tail; a flat tail makes anything above it rare', () => {
  const pot = new PeaksOverThreshold(5);
  for (let i = 0; i < 4; i++) pot.add(1);
  assert.equal(pot.surprise(100), 0);
  for (let i = 0; i < 100; i++) pot.add(1);
  assert.equal(pot.surprise(1), 0);
  assert.ok(pot.surprise(1.001) > 100);
});

test('a scale floor keeps count-valued tails from exploding', () => {
  const pot = new PeaksOverThreshold(5, undefined, 1);
  for (let i = 0; i < 1000; i++) pot.add(0);
  // One more than every run seen: e^-1 beyond the tail of 5 in 1000.
  assertClose(pot.surprise(1), Math.log10(1000 / 5) + 1 / Math.LN10, 1e-12, 'floored surprise');
});

test('state round trip continues bit for bit', () => {
  const values = randomSeries(4, 500, 3);
  const a = new PeaksOverThreshold(20);
  values.subarray(0, 250).forEach((x) => a.add(x));
  const b = new PeaksOverThreshold(20, JSON.parse(JSON.stringify(a.state())));
  for (const x of values.subarray(250)) {
    assert.equal(b.surprise(x), a.surprise(x));
    a.add(x);
    b.add(x);
  }
});
