import { Rng } from './rng.js';

/** Seeded test inputs shared by the statistics tests. */
export function randomSeries(seed: number, n: number, scale = 1, offset = 0): Float64Array {
  const rng = Rng.fromSeed(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + scale * (rng.next() * 2 - 1);
  return out;
}

export function assertClose(actual: number, expected: number, tol: number, what: string): void {
  const err = Math.abs(actual - expected);
  if (!(err <= tol * Math.max(1, Math.abs(expected)))) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (error ${err}, tol ${tol})`);
  }
}
