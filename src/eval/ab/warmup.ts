import { probationLength } from '../nab/index.js';

/** The plot option shading NAB's probationary rows, which no metric counts. */
export function warmup(times: Float64Array): { warmupUntil?: number } {
  const p = probationLength(times.length);
  return p > 0 && p < times.length ? { warmupUntil: times[p] as number } : {};
}
