import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RollingMeanVar } from './rolling-mean-var.js';
import { assertClose, randomSeries } from './test-data.js';

test('rolling mean/variance match the batch formulas over the last `capacity` values', () => {
  // A large offset makes naive sum-of-squares fail; Welford plus recomputation must not.
  const xs = randomSeries(21, 20000, 1, 1e7);
  const cap = 30;
  const r = new RollingMeanVar(cap);
  for (let i = 0; i < xs.length; i++) {
    r.update(xs[i] as number);
    const from = Math.max(0, i + 1 - cap);
    const n = i + 1 - from;
    let s = 0;
    for (let j = from; j <= i; j++) s += xs[j] as number;
    const mean = s / n;
    let q = 0;
    for (let j = from; j <= i; j++) q += ((xs[j] as number) - mean) ** 2;
    assertClose(r.mean, mean, 1e-13, `mean at ${i}`);
    if (n > 1) assertClose(r.sampleVariance, q / (n - 1), 1e-6, `variance at ${i}`);
    assert.equal(r.at(n - 1), xs[i]);
    assert.equal(r.at(0), xs[from]);
  }
});

test('rolling state round-trips through JSON and continues identically', () => {
  const xs = randomSeries(22, 500);
  const a = new RollingMeanVar(17);
  for (let i = 0; i < 250; i++) a.update(xs[i] as number);
  const b = RollingMeanVar.fromState(JSON.parse(JSON.stringify(a.state())));
  for (let i = 250; i < 500; i++) {
    a.update(xs[i] as number);
    b.update(xs[i] as number);
    assert.equal(b.mean, a.mean);
    assert.equal(b.variance, a.variance);
  }
});
