import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeasonalEsdDetector, seasonalEsdFactory } from './seasonal-esd.js';
import { gaussian, makeSyntheticSeries } from './synthetic.js';
import { Rng } from '../stats/rng.js';

const defaults = seasonalEsdFactory.paramsSchema.parse({});

function stateOf(d: SeasonalEsdDetector): { period: number; scale: number; critical: number } {
  return d.snapshot().state as { period: number; scale: number; critical: number };
}

test('finds the daily period by itself and scales residuals to the noise', () => {
  const s = makeSyntheticSeries({ seed: 3, anomaly: 'spike' });
  const d = new SeasonalEsdDetector(defaults);
  for (let i = 0; i < 1500; i++) d.update(s.times[i] as number, s.clean[i] as number);
  const st = stateOf(d);
  assert.equal(st.period, 288);
  // The noise is N(0, 1); the leave-one-out residual scale must be close to it, not deflated.
  assert.ok(st.scale > 0.9 && st.scale < 1.2, `scale ${st.scale}`);
  assert.ok(st.critical > 3.5 && st.critical < 4.5, `critical ${st.critical}`);
});

test('a given period is used as is; no season falls back to a level-only model', () => {
  const s = makeSyntheticSeries({ seed: 4, anomaly: 'spike', amplitude: 0 });
  const fixed = new SeasonalEsdDetector({ ...defaults, period: 96 });
  const auto = new SeasonalEsdDetector(defaults);
  for (let i = 0; i < 1200; i++) {
    fixed.update(s.times[i] as number, s.clean[i] as number);
    auto.update(s.times[i] as number, s.clean[i] as number);
  }
  assert.equal(stateOf(fixed).period, 96);
  assert.equal(stateOf(auto).period, 0);
  // A 6-sigma reading is flagged by both.
  assert.ok(fixed.score(0, 56) > 0.5 && auto.score(0, 56) > 0.5);
  assert.ok(fixed.score(0, 50.5) < 0.2 && auto.score(0, 50.5) < 0.2);
});

test('scores 0 during warm-up and rejects a period the window cannot hold', () => {
  const d = new SeasonalEsdDetector(defaults);
  for (let i = 0; i < 1007; i++) assert.equal(d.update(i, 1000 * Math.sin(i)), 0);
  assert.equal(seasonalEsdFactory.paramsSchema.safeParse({ period: 400 }).success, false);
  assert.equal(seasonalEsdFactory.paramsSchema.safeParse({ period: 1 }).success, false);
});

/** Scores after warm-up of `n` readings at 5-minute steps drawn from `next`. */
function run(d: SeasonalEsdDetector, n: number, next: (i: number) => number): number[] {
  const scores: number[] = [];
  for (let i = 0; i < n; i++) scores.push(d.update(i * 300_000, next(i)));
  return scores.slice(defaults.window / 2);
}

test('a season with sharp edges: exact period, unsmoothed profile, quiet at the edges', () => {
  const rng = Rng.fromSeed(9);
  const square = (i: number): number => (i % 288 < 96 ? 20 : 80);
  const d = new SeasonalEsdDetector(defaults);
  const scores = run(d, 4032, (i) => square(i) + 0.5 * gaussian(rng));
  assert.equal(stateOf(d).period, 288);
  // A smoothed profile (or a period one lag off) left a residual of half the jump at every edge.
  assert.ok(Math.max(...scores) < 0.5, `peak ${Math.max(...scores)} on the clean square wave`);
  assert.ok(d.score(0, square(4032) + 5) > 0.6, 'a 10σ reading');
});

test('zero-inflated bursts: the outlier budget keeps routine bursts from scoring near 1', () => {
  // A byte counter: idle 90% of the time, log-normal bursts otherwise. The MAD of the residuals
  // describes only the idle bulk, so without the budget most bursts scored above 0.99.
  const rng = Rng.fromSeed(10);
  const d = new SeasonalEsdDetector(defaults);
  const scores = run(d, 4032, () =>
    rng.next() < 0.9 ? 0 : Math.round(Math.exp(10 + 2 * gaussian(rng))),
  );
  const alarms = scores.filter((s) => s >= 0.5).length / scores.length;
  assert.ok(alarms < 0.04, `alarm share ${alarms}`);
  assert.ok(scores.filter((s) => s >= 0.99).length <= 2);
  assert.ok(d.score(0, 1e10) > 0.99, 'a burst far beyond any in the window still stands out');
});

test('small integer counts: the residual scale never drops below half a count', () => {
  const rng = Rng.fromSeed(11);
  const poisson = (lambda: number): number => {
    let k = 0;
    let p = Math.exp(-lambda);
    let cdf = p;
    const u = rng.next();
    while (u > cdf) {
      k++;
      p *= lambda / k;
      cdf += p;
    }
    return k;
  };
  const d = new SeasonalEsdDetector(defaults);
  const scores = run(d, 4032, () => poisson(0.4));
  assert.ok(stateOf(d).scale >= 0.5, `scale ${stateOf(d).scale}`);
  assert.ok(Math.max(...scores) < 0.9, `peak ${Math.max(...scores)}`);
  assert.ok(scores.filter((s) => s >= 0.5).length / scores.length < 0.02);
  assert.ok(d.score(0, 20) > 0.8, 'twenty at once');
});
