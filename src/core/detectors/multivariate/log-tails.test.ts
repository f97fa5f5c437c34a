import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChiSquareTail, FTail, pValueScore } from './log-tails.js';

/** Reference values: SciPy's logsf, and mpmath at 40 digits where SciPy underflows. */
const CHI_SQUARE: readonly [number, number, number][] = [
  [1, 3.841458820694124, -2.995732273553993],
  [5, 25, -8.878638128091785],
  [5, 2, -0.16352527559465035],
  [2, 1000, -500],
  [3.7, 0.5, -0.038185950169238404],
  [64, 120, -10.472660898351943],
  [5, 1e4, -4987.508593098351],
];

const F: readonly [number, number, number, number][] = [
  [5, 995, 5, -8.757881682841484],
  [5, 20, 3, -3.3466712012855155],
  [5, 995, 0.2, -0.03823702005441063],
  [2, 30, 1e5, -132.07537878928716],
  [5, 1000, 1e-4, -2.9841614139422343e-10],
  [3, 7.5, 10, -5.247930590645853],
  [5, 200, 300, -207.5506829654698],
  [5, 995, 1e6, -4230.863168541091],
];

function close(actual: number, expected: number, what: string): void {
  const err = Math.abs(actual - expected);
  assert.ok(err <= 1e-10 * Math.max(1e-9, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

test('log chi-square tails match reference values, far beyond double-precision p-values', () => {
  for (const [k, x, expected] of CHI_SQUARE) {
    close(new ChiSquareTail(k).logTail(x), expected, `χ²(${k}) at ${x}`);
  }
  const tail = new ChiSquareTail(5);
  assert.equal(tail.logTail(0), 0);
  assert.equal(tail.logTail(-1), 0);
  assert.equal(tail.logTail(Infinity), -Infinity);
});

test('log F tails match reference values on both sides of the mean', () => {
  for (const [d1, d2, f, expected] of F) {
    close(new FTail(d1, d2).logTail(f), expected, `F(${d1}, ${d2}) at ${f}`);
  }
  assert.equal(new FTail(5, 100).logTail(0), 0);
  assert.equal(new FTail(5, 100).logTail(Infinity), -Infinity);
  assert.throws(() => new FTail(0, 3), /degrees of freedom/);
});

test('tails decrease monotonically', () => {
  const f = new FTail(5, 300);
  const chi = new ChiSquareTail(3);
  let lastF = 1;
  let lastChi = 1;
  for (let x = 0.01; x < 5000; x *= 1.1) {
    const lf = f.logTail(x);
    const lc = chi.logTail(x);
    assert.ok(lf <= lastF && lc <= lastChi, `monotone at ${x}`);
    [lastF, lastChi] = [lf, lc];
  }
});

test('p-value scores: the boundary is 0.5, twice the decades 2/3, and nothing saturates', () => {
  assert.equal(pValueScore(Math.log(1e-4), 4), 0.5);
  close(pValueScore(Math.log(1e-8), 4), 2 / 3, 'p = 1e-8');
  assert.equal(pValueScore(0, 4), 0);
  assert.ok(pValueScore(-5000, 4) < pValueScore(-50000, 4));
  assert.ok(pValueScore(-50000, 4) < 1);
  assert.equal(pValueScore(-Infinity, 4), 1);
});
