import { test } from 'node:test';
import assert from 'node:assert/strict';
import { largestInPlace, median, medianAbsoluteDeviation, selectInPlace } from './robust.js';
import { Rng } from './rng.js';

function sortedCopy(a: ArrayLike<number>): number[] {
  return Array.from(a).sort((x, y) => x - y);
}

function batchMedian(a: ArrayLike<number>): number {
  const s = sortedCopy(a);
  const h = s.length >> 1;
  return s.length % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

test('selection, median, MAD and largest-k agree with sorting', () => {
  const rng = Rng.fromSeed(41);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(300);
    const a = new Float64Array(n);
    // Few distinct values in some trials: ties are where quickselect variants go wrong.
    const levels = trial % 3 === 0 ? 5 : 1e9;
    for (let i = 0; i < n; i++) a[i] = Math.round(rng.uniform(0, levels));
    const sorted = sortedCopy(a);
    const k = rng.int(n);
    assert.equal(selectInPlace(Float64Array.from(a), k), sorted[k]);

    const original = Float64Array.from(a);
    const med = median(a);
    assert.equal(med, batchMedian(a));
    assert.deepEqual(a, original, 'median must not mutate its input');

    const mad = medianAbsoluteDeviation(a, med, new Float64Array(n));
    assert.equal(mad, batchMedian(Array.from(a, (x) => Math.abs(x - med))));

    const top = Math.min(n, 1 + rng.int(10));
    const b = Float64Array.from(a);
    largestInPlace(b, n, top);
    assert.deepEqual(Array.from(b.subarray(n - top)), sorted.slice(n - top));
  }
  assert.ok(Number.isNaN(median([])));
});
