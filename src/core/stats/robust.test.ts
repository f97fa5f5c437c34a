import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  largestInPlace,
  median,
  medianAbsoluteDeviation,
  selectInPlace,
  StepScale,
  stepResolution,
  type StepScaleState,
} from './robust.js';
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

test('step scale: resolution of quantised readings, typical step of noise', () => {
  // Counts: mostly 0, sometimes 1 or 3. Resolution 1, so the floor is at least half a count.
  const counts = new StepScale();
  for (let i = 0; i < 500; i++) counts.update(i % 7 === 0 ? 1 : i % 50 === 0 ? 3 : 0);
  assert.equal(counts.state().resolution, 1);
  assert.ok(counts.floor >= 0.5 && counts.floor < 1, `floor ${counts.floor}`);

  // Uniform noise on [-3, 3]: E|x - y| = 2; the floor is an eighth of the typical step.
  const rng = Rng.fromSeed(43);
  const noise = new StepScale();
  for (let i = 0; i < 1000; i++) noise.update(10 + rng.uniform(-3, 3));
  const { meanStep } = noise.state();
  assert.ok(Math.abs(meanStep - 2) < 0.15, `mean step ${meanStep}`);
  assert.ok(Math.abs(noise.floor - meanStep / 8) < 1e-12);

  // Scale-free: the same series in other units has the floor in those units.
  const scaled = new StepScale();
  const rng2 = Rng.fromSeed(43);
  for (let i = 0; i < 1000; i++) scaled.update(1e6 * (10 + rng2.uniform(-3, 3)));
  assert.ok(Math.abs(scaled.floor / noise.floor - 1e6) < 1e-3);
});

test('step scale: follows a change of regime, survives overflow, round-trips its state', () => {
  const s = new StepScale(100);
  for (let i = 0; i < 1000; i++) s.update(i % 2 ? 10 : 0); // steps of 10
  assert.ok(Math.abs(s.state().meanStep - 10) < 1e-9);
  for (let i = 0; i < 1000; i++) s.update(i % 2 ? 1 : 0); // steps of 1: forgotten within ~horizon
  assert.ok(s.state().meanStep < 1.01, `mean step ${s.state().meanStep}`);

  s.update(-1.5e308);
  s.update(1.5e308); // |step| overflows to Infinity: skipped, the state stays finite
  assert.ok(Number.isFinite(s.state().meanStep) && Number.isFinite(s.floor));

  const copy = StepScale.fromState(JSON.parse(JSON.stringify(s.state())) as StepScaleState, 100);
  copy.update(3);
  s.update(3);
  assert.deepEqual(copy.state(), s.state());
  assert.equal(new StepScale().floor, 0, 'nothing learned yet');
});

test('step resolution of a window: smallest non-zero step, 0 when flat', () => {
  assert.equal(stepResolution([5, 5, 7, 7, 6.5, 6.5]), 0.5);
  assert.equal(stepResolution([3, 3, 3]), 0);
  assert.equal(stepResolution([1, 4, 2, 9], 3), 2);
});
