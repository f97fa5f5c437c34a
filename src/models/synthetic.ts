import { Rng } from '../core/stats/rng.js';

/**
 * A seeded "normal" series for the model tests and examples: two periodic components (periods
 * 24 and 7 points) plus uniform noise, around 10 with amplitude about 3.
 */
export function normalSeries(n: number, seed: number, noise = 0.2): Float64Array {
  const rng = Rng.fromSeed(seed);
  const out = new Float64Array(n);
  const phase = rng.uniform(0, 2 * Math.PI);
  for (let i = 0; i < n; i++) {
    out[i] =
      10 +
      2.5 * Math.sin((2 * Math.PI * i) / 24 + phase) +
      0.8 * Math.sin((2 * Math.PI * i) / 7) +
      noise * (rng.next() * 2 - 1);
  }
  return out;
}
