import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autocorrelations, dominantPeriod, estimatePeriod } from './autocorrelation.js';
import { Rng } from './rng.js';
import { assertClose } from './test-data.js';

const search = { minLag: 4, maxLag: 400, minStrength: 0.3, minProminence: 0.3 };

test('autocorrelation matches the batch formula on a detrended series', () => {
  const rng = Rng.fromSeed(51);
  const n = 300;
  const xs = Float64Array.from({ length: n }, (_, i) => 0.05 * i + rng.uniform(-1, 1));
  const acf = autocorrelations(xs, n, 1, 20, new Float64Array(n));
  // Batch: fit the line with the normal equations, then correlate the residuals.
  const mi = (n - 1) / 2;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (i - mi) * (x - mx);
    sxx += (i - mi) ** 2;
  });
  const y = Array.from(xs, (x, i) => x - mx - (sxy / sxx) * (i - mi));
  for (let lag = 1; lag <= 20; lag++) {
    let s = 0;
    let e1 = 0;
    let e2 = 0;
    for (let i = 0; i + lag < n; i++) {
      s += (y[i] as number) * (y[i + lag] as number);
      e1 += (y[i] as number) ** 2;
      e2 += (y[i + lag] as number) ** 2;
    }
    assertClose(acf[lag] as number, s / Math.sqrt(e1 * e2), 1e-12, `r(${lag})`);
  }
});

test('dominant period: finds the season, ignores persistence and noise', () => {
  const rng = Rng.fromSeed(52);
  const n = 1200;
  const scratch = new Float64Array(n);
  const seasonal = Float64Array.from(
    { length: n },
    (_, i) => 10 * Math.sin((2 * Math.PI * i) / 288) + rng.uniform(-2, 2) + 0.01 * i,
  );
  // The raw peak may sit a lag off; the sinusoid refinement must land on the period.
  assert.ok(
    Math.abs(dominantPeriod(autocorrelations(seasonal, n, 3, 400, scratch), search) - 288) <= 3,
  );
  assert.equal(estimatePeriod(seasonal, n, search, scratch), 288);

  const weekly = Float64Array.from(
    { length: n },
    (_, i) => (i % 7 < 5 ? 1 : 0) + rng.uniform(-0.2, 0.2),
  );
  assert.equal(estimatePeriod(weekly, n, search, scratch), 7);

  // AR(1) with phi = 0.97: strongly persistent, no season.
  let v = 0;
  const ar = Float64Array.from({ length: n }, () => (v = 0.97 * v + rng.uniform(-1, 1)));
  assert.equal(estimatePeriod(ar, n, search, scratch), 0);

  const noise = Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  assert.equal(estimatePeriod(noise, n, search, scratch), 0);
});

test('a season with sharp edges keeps its exact period (the sinusoid refinement must not pull it)', () => {
  const rng = Rng.fromSeed(53);
  for (const n of [1008, 1200, 2016]) {
    const scratch = new Float64Array(n);
    // A square wave (a third of the day high) and a business-hours bump on a flat floor: their
    // harmonics pulled the single-sinusoid fit one to three lags off.
    const square = Float64Array.from(
      { length: n },
      (_, i) => (i % 288 < 96 ? 20 : 80) + rng.uniform(-1, 1),
    );
    const hours = Float64Array.from({ length: n }, (_, i) => {
      const p = i % 288;
      const open = p >= 100 && p < 200;
      return (open ? 50 + 10 * Math.sin(((p - 100) / 100) * Math.PI) : 5) + rng.uniform(-2, 2);
    });
    assert.equal(estimatePeriod(square, n, search, scratch), 288, `square wave, n = ${n}`);
    assert.equal(estimatePeriod(hours, n, search, scratch), 288, `business hours, n = ${n}`);
  }
});
