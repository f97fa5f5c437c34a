import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EwCovariance, WelfordCovariance } from './covariance.js';
import { Rng } from './rng.js';
import { assertClose } from './test-data.js';

const D = 4;

/** Correlated vectors far from the origin (large offsets are where naive sums lose digits). */
function vectors(seed: number, n: number): Float64Array[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, () => {
    const f = rng.uniform(-1, 1);
    return Float64Array.from([
      1e6 + 10 * f + rng.uniform(-1, 1),
      -3 + 0.5 * f + 0.01 * rng.uniform(-1, 1),
      200 - 40 * f + 5 * rng.uniform(-1, 1),
      rng.uniform(0, 1),
    ]);
  });
}

/** Weighted mean and weighted population covariance with the weights written out. */
function batch(xs: readonly Float64Array[], weights: readonly number[]) {
  const total = weights.reduce((s, w) => s + w, 0);
  const mean = new Float64Array(D);
  xs.forEach((x, k) => {
    for (let i = 0; i < D; i++)
      mean[i] = (mean[i] as number) + ((weights[k] as number) * (x[i] as number)) / total;
  });
  const cov = new Float64Array(D * D);
  xs.forEach((x, k) => {
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < D; j++) {
        const w = (weights[k] as number) / total;
        cov[i * D + j] =
          (cov[i * D + j] as number) +
          w * ((x[i] as number) - (mean[i] as number)) * ((x[j] as number) - (mean[j] as number));
      }
    }
  });
  return { mean, cov };
}

function assertMatrixClose(
  actual: Float64Array,
  expected: Float64Array,
  tol: number,
  what: string,
): void {
  const scale = Math.max(...Array.from(expected, Math.abs), 1e-300);
  for (let k = 0; k < expected.length; k++) {
    const err = Math.abs((actual[k] as number) - (expected[k] as number));
    if (!(err <= tol * scale)) assert.fail(`${what}[${k}]: ${actual[k]} vs ${expected[k]}`);
  }
}

test('Welford mean and sample/population covariance equal the two-pass batch formulas', () => {
  const xs = vectors(1, 2000);
  const w = new WelfordCovariance(D);
  const out = new Float64Array(D * D);
  xs.forEach((x, i) => {
    w.add(x);
    const n = i + 1;
    if (n % 199 === 0 || n === 2) {
      const { mean, cov } = batch(xs.slice(0, n), new Array<number>(n).fill(1));
      for (let j = 0; j < D; j++)
        assertClose(w.mean[j] as number, mean[j] as number, 1e-13, `mean ${j} at ${n}`);
      assertMatrixClose(w.covariance(out, true), cov, 1e-9, `population at ${n}`);
      const sample = cov.map((c) => (c * n) / (n - 1));
      assertMatrixClose(w.covariance(out), sample, 1e-9, `sample at ${n}`);
    }
  });
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) assert.equal(out[i * D + j], out[j * D + i], 'exactly symmetric');
  }
});

test('Welford merge equals adding everything to one estimator', () => {
  const xs = vectors(2, 900);
  const all = new WelfordCovariance(D);
  const a = new WelfordCovariance(D);
  const b = new WelfordCovariance(D);
  xs.forEach((x, i) => {
    all.add(x);
    (i < 300 ? a : b).add(x);
  });
  a.merge(b);
  a.merge(new WelfordCovariance(D));
  assert.equal(a.count, 900);
  for (let j = 0; j < D; j++)
    assertClose(a.mean[j] as number, all.mean[j] as number, 1e-13, `mean ${j}`);
  assertMatrixClose(
    a.covariance(new Float64Array(D * D)),
    all.covariance(new Float64Array(D * D)),
    1e-10,
    'cov',
  );
});

test('EW covariance equals the explicitly weighted batch formulas', () => {
  const xs = vectors(3, 700);
  const alpha = 0.02;
  const ew = new EwCovariance({ dimensions: D, alpha });
  const out = new Float64Array(D * D);
  xs.forEach((x, i) => {
    ew.update(x);
    const n = i + 1;
    if (n % 97 === 0) {
      // The first vector starts the mean (weight 1), each later one gets alpha.
      const weights = xs
        .slice(0, n)
        .map((_, k) => (k === 0 ? 1 : alpha) * (1 - alpha) ** (n - 1 - k));
      const { mean, cov } = batch(xs.slice(0, n), weights);
      for (let j = 0; j < D; j++)
        assertClose(ew.mean[j] as number, mean[j] as number, 1e-12, `mean ${j} at ${n}`);
      assertMatrixClose(ew.covariance(out), cov, 1e-8, `cov at ${n}`);
      const sumSq = weights.reduce((s, w) => s + w * w, 0);
      assertClose(ew.effectiveCount, 1 / sumSq, 1e-10, `effective count at ${n}`);
    }
  });
  assertClose(ew.effectiveCount, (2 - alpha) / alpha, 1e-6, 'steady-state effective count');
});

test('EW with weights 1/n (and the equal-weight start) is the cumulative estimate', () => {
  const xs = vectors(4, 400);
  const w = new WelfordCovariance(D);
  const manual = new EwCovariance({ dimensions: D, alpha: 0.5 });
  const start = new EwCovariance({ dimensions: D, alpha: 1 / 500, equalWeightStart: true });
  const a = new Float64Array(D * D);
  const b = new Float64Array(D * D);
  xs.forEach((x, i) => {
    w.add(x);
    manual.updateWeighted(x, 1 / (i + 1));
    start.update(x);
  });
  for (const ew of [manual, start]) {
    assert.equal(ew.count, 400);
    assertClose(ew.effectiveCount, 400, 1e-12, 'effective count');
    for (let j = 0; j < D; j++)
      assertClose(ew.mean[j] as number, w.mean[j] as number, 1e-13, `mean ${j}`);
    assertMatrixClose(ew.covariance(a, true), w.covariance(b), 1e-10, 'unbiased = sample');
    assertMatrixClose(ew.covariance(a), w.covariance(b, true), 1e-10, 'population');
  }
});

test('states round-trip through JSON and continue identically', () => {
  const xs = vectors(5, 300);
  const w = new WelfordCovariance(D);
  const ew = new EwCovariance({ dimensions: D, alpha: 0.05, equalWeightStart: true });
  xs.slice(0, 150).forEach((x) => {
    w.add(x);
    ew.update(x);
  });
  const w2 = new WelfordCovariance(D, JSON.parse(JSON.stringify(w.state())));
  const ew2 = new EwCovariance(
    { dimensions: D, alpha: 0.05, equalWeightStart: true },
    JSON.parse(JSON.stringify(ew.state())),
  );
  xs.slice(150).forEach((x) => {
    w.add(x);
    w2.add(x);
    ew.update(x);
    ew2.update(x);
  });
  assert.deepEqual(w2.state(), w.state());
  assert.deepEqual(ew2.state(), ew.state());
  assert.throws(() => new WelfordCovariance(3, w.state()), /4 dimensions, not 3/);
  assert.throws(() => new EwCovariance({ dimensions: D, alpha: 0 }), /alpha/);
});

test('empty and single-vector estimates are zeros, never NaN', () => {
  const out = new Float64Array(D * D).fill(7);
  assert.deepEqual(Array.from(new WelfordCovariance(D).covariance(out)), new Array(D * D).fill(0));
  const ew = new EwCovariance({ dimensions: D, alpha: 0.1 });
  assert.equal(ew.effectiveCount, 0);
  ew.update([1, 2, 3, 4]);
  assert.deepEqual(Array.from(ew.covariance(out, true)), new Array(D * D).fill(0));
  assert.equal(ew.effectiveCount, 1);
});
