import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeasonalProfile } from './seasonal-profile.js';
import { assertClose, randomSeries } from './test-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('residuals match a batch per-slot exponentially weighted mean', () => {
  const noise = randomSeries(5, 24 * 10, 0.5);
  const profile = new SeasonalProfile(DAY, 0.2, 1440);
  const slotMeans = new Map<number, number>();
  for (let i = 0; i < noise.length; i++) {
    const t = Date.UTC(2024, 0, 1) + i * HOUR;
    const x = 10 + 5 * Math.sin((2 * Math.PI * i) / 24) + noise[i]!;
    const slot = i % 24;
    const mean = slotMeans.get(slot);
    if (i === 0) {
      assert.ok(Number.isNaN(profile.residual(t, x)), 'no layout before a first interval');
    } else if (mean === undefined) {
      assert.ok(Number.isNaN(profile.residual(t, x)), `slot ${slot} not seen yet`);
    } else {
      assertClose(profile.residual(t, x), x - mean, 1e-12, `point ${i}`);
    }
    profile.learn(t, x);
    slotMeans.set(slot, mean === undefined ? x : mean + 0.2 * (x - mean));
  }
});

test('slots are capped for fast series, and the state round-trips', () => {
  const profile = new SeasonalProfile(DAY, 0.1, 100);
  profile.learn(0, 1);
  profile.learn(1000, 2); // 1 s sampling would mean 86,400 slots
  const state = profile.state();
  assert.equal(state.means!.length, 100);
  const copy = new SeasonalProfile(DAY, 0.1, 100, JSON.parse(JSON.stringify(state)));
  assert.equal(copy.residual(2000, 5), profile.residual(2000, 5));
});
