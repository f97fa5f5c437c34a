import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SortedValues } from './sorted-values.js';
import { Rng } from './rng.js';

function batchQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return (s[lo] as number) + (pos - lo) * ((s[hi] as number) - (s[lo] as number));
}

test('sliding-window quantiles match sorting the window', () => {
  const rng = Rng.fromSeed(31);
  const sv = new SortedValues(4);
  const window: number[] = [];
  for (let i = 0; i < 3000; i++) {
    // Rounded values produce many ties, the case where removal must pick an equal value.
    const x = Math.round(rng.uniform(-20, 20));
    sv.insert(x);
    window.push(x);
    if (window.length > 101) assert.ok(sv.remove(window.shift() as number));
    for (const q of [0, 0.5, 0.95, 1]) {
      // `===` rather than Object.is: rounding produces -0, which sorts either side of 0.
      assert.ok(sv.quantile(q) === batchQuantile(window, q), `q${q} at ${i}`);
    }
  }
  assert.equal(sv.remove(1000), false);
  assert.deepEqual(SortedValues.fromValues(window).toArray(), sv.toArray());
});
