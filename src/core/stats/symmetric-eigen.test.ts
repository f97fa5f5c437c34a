import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './rng.js';
import { symmetricEigen } from './symmetric-eigen.js';

/** A random symmetric matrix with the given eigenvalues: Q·diag(values)·Qᵀ, Q from Gram–Schmidt. */
function withSpectrum(seed: number, values: readonly number[]): Float64Array {
  const d = values.length;
  const rng = Rng.fromSeed(seed);
  const q: Float64Array[] = [];
  while (q.length < d) {
    const v = Float64Array.from({ length: d }, () => rng.uniform(-1, 1));
    for (const u of q) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += (v[i] as number) * (u[i] as number);
      for (let i = 0; i < d; i++) v[i] = (v[i] as number) - dot * (u[i] as number);
    }
    const norm = Math.hypot(...v);
    if (norm > 1e-3) q.push(v.map((x) => x / norm));
  }
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++)
        s += (q[k]![i] as number) * (values[k] as number) * (q[k]![j] as number);
      m[i * d + j] = s;
    }
  }
  // Exact symmetry, as the covariance estimators produce.
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) m[i * d + j] = m[j * d + i] as number;
  return m;
}

function check(m: Float64Array, d: number, tol: number): ReturnType<typeof symmetricEigen> {
  const e = symmetricEigen(m, d);
  const scale = Math.max(...Array.from(e.values, Math.abs), 1e-300);
  for (let k = 0; k < d; k++) {
    if (k > 0)
      assert.ok((e.values[k - 1] as number) >= (e.values[k] as number), 'sorted, largest first');
    let norm = 0;
    let big = 0;
    for (let i = 0; i < d; i++) {
      const vi = e.vectors[i * d + k] as number;
      norm += vi * vi;
      if (Math.abs(vi) > Math.abs(big)) big = vi;
      // (A v)_i = λ v_i
      let av = 0;
      for (let j = 0; j < d; j++) av += (m[i * d + j] as number) * (e.vectors[j * d + k] as number);
      const err = Math.abs(av - (e.values[k] as number) * vi);
      if (!(err <= tol * scale)) assert.fail(`A·v ≠ λ·v for pair ${k}, row ${i}: error ${err}`);
    }
    assert.ok(Math.abs(norm - 1) < 1e-12, `unit eigenvector ${k}`);
    assert.ok(big > 0, 'sign fixed: largest component positive');
    for (let l = 0; l < k; l++) {
      let dot = 0;
      for (let i = 0; i < d; i++)
        dot += (e.vectors[i * d + k] as number) * (e.vectors[i * d + l] as number);
      assert.ok(Math.abs(dot) < 1e-12, `eigenvectors ${k} and ${l} orthogonal`);
    }
  }
  return e;
}

test('recovers known spectra, including tiny, repeated and zero eigenvalues', () => {
  const spectra: number[][] = [
    [3],
    [5, 1e-9],
    [4, 2, 2, 1, 0],
    [1e6, 30, 1, 1e-3, 1e-7, -2],
    Array.from({ length: 32 }, (_, i) => 2 ** -i),
    Array.from({ length: 64 }, (_, i) => 64 - i),
  ];
  spectra.forEach((values, s) => {
    const d = values.length;
    const e = check(withSpectrum(s + 1, values), d, 1e-12);
    const sorted = [...values].sort((a, b) => b - a);
    sorted.forEach((v, k) => {
      const err = Math.abs((e.values[k] as number) - v);
      assert.ok(
        err <= 1e-12 * Math.max(1, Math.abs(sorted[0] as number)),
        `eigenvalue ${k} of spectrum ${s}: ${e.values[k]} vs ${v}`,
      );
    });
  });
});

test('diagonal input and exact zeros take no rotation; output is deterministic', () => {
  const e = check(Float64Array.from([1, 0, 0, 0, 3, 0, 0, 0, 2]), 3, 0);
  assert.deepEqual(Array.from(e.values), [3, 2, 1]);
  const zero = symmetricEigen(new Float64Array(9), 3);
  assert.deepEqual(Array.from(zero.values), [0, 0, 0]);
  const m = withSpectrum(9, [9, 4, 1, 0.5, 0.25]);
  assert.deepEqual(symmetricEigen(m, 5), symmetricEigen(Float64Array.from(m), 5));
});

test('rejects non-finite entries and wrong shapes', () => {
  assert.throws(() => symmetricEigen([1, NaN, NaN, 1], 2), /entry \(0, 1\) is NaN/);
  assert.throws(() => symmetricEigen([1, 2, 3], 2), /2×2/);
});
