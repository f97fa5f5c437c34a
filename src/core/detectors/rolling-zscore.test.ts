import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RollingZScoreDetector, rollingZScoreFactory } from './rolling-zscore.js';
import { Rng } from '../stats/rng.js';
import { gaussian } from './synthetic.js';

const defaults = rollingZScoreFactory.paramsSchema.parse({});

function feed(d: RollingZScoreDetector, values: readonly number[]): number[] {
  return values.map((x, i) => d.update(i * 300_000, x));
}

test('the seed baseline: 3σ maps to 0.5 on a healthy window', () => {
  const d = new RollingZScoreDetector(defaults);
  const window = Array.from({ length: 30 }, (_, i) => (i % 2 ? 11 : 9)); // mean 10, sample std ≈ 1.017
  feed(d, window);
  const std = Math.sqrt((30 * 1) / 29);
  assert.ok(Math.abs(d.score(0, 10 + 3 * std) - 0.5) < 1e-12);
  assert.ok(Math.abs(d.score(0, 10 - 6 * std) - 2 / 3) < 1e-12);
});

test('integer counts: a one-count change from a flat window is not an alarm, a burst is', () => {
  const rng = Rng.fromSeed(61);
  const d = new RollingZScoreDetector(defaults);
  const counts = Array.from({ length: 300 }, () => (rng.next() < 0.05 ? 1 : 0));
  feed(d, [...counts, ...new Array<number>(30).fill(0)]);
  // Before: σ = 0 floored at 1e-6, so a single count scored 0.999997 — a million sigma.
  assert.ok(d.score(0, 1) < 0.5, `one count: ${d.score(0, 1)}`);
  const burst = d.score(0, 30);
  assert.ok(burst > 0.9 && burst < 0.99, `burst: ${burst}`);
});

test('a stuck sensor on continuous data still stands out when its readings resume', () => {
  const rng = Rng.fromSeed(62);
  const d = new RollingZScoreDetector(defaults);
  const noisy = Array.from({ length: 500 }, () => 20 + gaussian(rng));
  const stuck = new Array<number>(40).fill(noisy[499] as number);
  feed(d, [...noisy, ...stuck]);
  // One noise σ away from the stuck value: the window has σ = 0, the floor is ≈ 0.14σ.
  assert.ok(d.score(0, (noisy[499] as number) + 1) > 0.6);
});

test('the score does not depend on the units of the data', () => {
  const rng = Rng.fromSeed(63);
  const xs = Array.from({ length: 2000 }, (_, i) =>
    i % 400 >= 350 ? 3 : Math.round(5 + 2 * gaussian(rng)),
  );
  const a = feed(new RollingZScoreDetector(defaults), xs);
  const b = feed(
    new RollingZScoreDetector(defaults),
    xs.map((x) => x * 1e5),
  );
  a.forEach((s, i) => assert.ok(Math.abs(s - (b[i] as number)) < 1e-9, `point ${i}`));
  assert.ok(Math.max(...a) < 0.99, `max ${Math.max(...a)}`);
});
