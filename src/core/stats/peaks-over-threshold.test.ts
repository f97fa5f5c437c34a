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

test('the frequency cap: never rarer than the share of the top values at least as large', () => {
  const pot = new PeaksOverThreshold(10);
  // In 1000 points: six 50s and four 55s are the ten largest; everything else is below 1.
  for (let i = 0; i < 1000; i++) pot.add(i < 6 ? 50 : i < 10 ? 55 : (i % 7) / 7);
  const uncapped = pot.surprise(52);
  assert.ok(uncapped > Math.log10(1000 / 4), 'the exponential fit calls 52 rarer than seen');
  assert.equal(pot.surprise(52, 0, 4), Math.log10(1000 / 4), 'four values >= 52 were seen');
  assert.equal(pot.surprise(52, 0, 5), uncapped, 'fewer than minCount: no cap');
  assert.equal(pot.surprise(60, 0, 4), pot.surprise(60), 'nothing >= 60 was seen: no cap');
});

test('a scale floor bounds the surprise of one resolution step', () => {
  const pot = new PeaksOverThreshold(10);
  for (let i = 0; i < 1000; i++) pot.add(1);
  const floored = pot.surprise(1.5, 0.5);
  assertClose(floored, Math.log10(1000 / 10) + 1 / Math.LN10, 1e-12, 'one step above a flat tail');
});

test('edge() inverts surprise()', () => {
  const values = randomSeries(9, 2000, 4);
  const pot = new PeaksOverThreshold(30);
  values.forEach((x) => pot.add(x));
  for (const log10p of [3, 4, 6]) {
    const edge = pot.edge(log10p)!;
    assertClose(pot.surprise(edge), log10p, 1e-9, `edge at ${log10p}`);
  }
  assert.equal(new PeaksOverThreshold(30).edge(4), null);
});
