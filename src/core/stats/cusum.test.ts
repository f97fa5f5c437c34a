import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResidualCusum, cusumStateSchema } from './cusum.js';
import type { CusumParams, CusumState } from './cusum.js';
import { randomSeries } from './test-data.js';

const PARAMS: CusumParams = {
  k: 0.5,
  clip: 3,
  scaleAlpha: 0.01,
  resetLog10p: 4,
  calibrationLog10p: 2,
  calibrationPrior: 1,
  tailSize: 30,
  tailMinCount: 5,
};

function cusum(state?: CusumState, params = PARAMS): ResidualCusum {
  return new ResidualCusum(
    params,
    new Float64Array(ResidualCusum.SCALARS),
    0,
    new Float32Array(params.tailSize),
    0,
    state,
  );
}

test('quiet on noise: the alert level is reached about as rarely as its p says', () => {
  const c = cusum();
  const noise = randomSeries(7, 40_000);
  let alarms = 0;
  for (let i = 0; i < noise.length; i++) {
    if (i >= 1000 && c.surprise(noise[i]!) >= 4) alarms++;
    c.learn(noise[i]!, i >= 1000);
  }
  assert.ok(alarms <= 8, `${alarms} alarms in 39,000 noise points`);
});

test('a lasting shift of under two standard deviations alarms, and the sums restart after it', () => {
  const c = cusum();
  const noise = randomSeries(11, 6000);
  for (let i = 0; i < 5000; i++) c.learn(noise[i]!, i >= 1000);
  // Uniform noise on [-1, 1] (sigma 0.58) becomes noise on [0.5, 1.5]: a shift of 1.7 sigma,
  // which single points barely show (the noise itself reaches 1).
  let first = -1;
  for (let i = 5000; i < 5300; i++) {
    const r = noise[i]! * 0.5 + 1;
    if (first === -1 && c.surprise(r) >= 4) {
      first = i - 5000;
      c.learn(r, true);
      assert.equal(c.state().plus, 0, 'the sum restarts after the alarm');
      break;
    }
    c.learn(r, true);
  }
  assert.ok(first >= 0 && first < 50, `first alarm ${first} points into the shift`);
});

test('one spike moves the sums by a bounded step only', () => {
  const c = cusum();
  const noise = randomSeries(5, 3000);
  for (let i = 0; i < noise.length; i++) c.learn(noise[i]!, i >= 1000);
  assert.ok(c.surprise(1e9) < 4, `surprise of a huge spike ${c.surprise(1e9)}`);
});

test('state round-trips: a restored CUSUM continues with the same surprises', () => {
  const a = cusum();
  const values = randomSeries(3, 4000);
  for (let i = 0; i < 2000; i++) a.learn(values[i]! + (i > 1500 ? 0.3 : 0), i >= 500);
  const state = cusumStateSchema.parse(JSON.parse(JSON.stringify(a.state())));
  const b = cusum(state);
  for (let i = 2000; i < values.length; i++) {
    assert.equal(b.surprise(values[i]!), a.surprise(values[i]!), `point ${i}`);
    a.learn(values[i]!, true);
    b.learn(values[i]!, true);
  }
  assert.deepEqual(b.state(), a.state());
});

test('NaN residuals are skipped', () => {
  const c = cusum();
  c.learn(Number.NaN, true);
  assert.equal(c.state().seen, 0);
  assert.equal(c.surprise(Number.NaN), 0);
});
