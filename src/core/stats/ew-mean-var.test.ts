import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EwMeanVar } from './ew-mean-var.js';
import { assertClose, randomSeries } from './test-data.js';

/** Weighted mean and variance around it with the exponential weights written out explicitly. */
function batchEw(xs: Float64Array, n: number, alpha: number): [number, number] {
  const w = new Float64Array(n);
  w[0] = (1 - alpha) ** (n - 1);
  for (let i = 1; i < n; i++) w[i] = alpha * (1 - alpha) ** (n - 1 - i);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (w[i] as number) * (xs[i] as number);
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (w[i] as number) * ((xs[i] as number) - mean) ** 2;
  return [mean, variance];
}

test('EW mean/variance equal the explicitly weighted batch formulas', () => {
  const xs = randomSeries(11, 600, 10, 50);
  const alpha = 0.05;
  const ew = new EwMeanVar({ alpha });
  for (let n = 1; n <= xs.length; n++) {
    ew.update(xs[n - 1] as number);
    if (n % 37 === 0 || n === 1) {
      const [mean, variance] = batchEw(xs, n, alpha);
      assertClose(ew.mean, mean, 1e-10, `mean at ${n}`);
      assertClose(ew.variance, variance, 1e-9, `variance at ${n}`);
    }
  }
});

test('equal-weight start gives the cumulative mean and population variance first', () => {
  const xs = randomSeries(12, 100, 3, -4);
  const ew = new EwMeanVar({ alpha: 0.01, equalWeightStart: true });
  for (let n = 1; n <= xs.length; n++) {
    ew.update(xs[n - 1] as number);
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[i] as number;
    const mean = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) q += ((xs[i] as number) - mean) ** 2;
    assertClose(ew.mean, mean, 1e-12, `mean at ${n}`);
    assertClose(ew.variance, q / n, 1e-10, `variance at ${n}`);
  }
});

test('EW state round-trips through JSON', () => {
  const xs = randomSeries(13, 300);
  const a = new EwMeanVar({ alpha: 0.1 });
  for (let i = 0; i < 150; i++) a.update(xs[i] as number);
  const b = new EwMeanVar({ alpha: 0.1 }, JSON.parse(JSON.stringify(a.state())));
  for (let i = 150; i < 300; i++) {
    a.update(xs[i] as number);
    b.update(xs[i] as number);
  }
  assert.deepEqual(b.state(), a.state());
  assert.throws(() => new EwMeanVar({ alpha: 0 }), RangeError);
});
