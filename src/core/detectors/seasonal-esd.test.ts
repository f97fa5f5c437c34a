import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeasonalEsdDetector, seasonalEsdFactory } from './seasonal-esd.js';
import { makeSyntheticSeries } from './synthetic.js';

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
