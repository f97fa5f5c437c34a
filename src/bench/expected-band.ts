/**
 * `node dist/bench/expected-band.js [buckets]`: how long `GET /v1/band`'s computation takes
 * (expected-band.ts) for a range of buckets (default 10,000, the route's limit; the chart asks for
 * about one per pixel). Median of 21 runs after 5 warm-up runs; the store's query is not included.
 */
import { expectedBand, BAND_WINDOW } from '../server/dashboard/expected-band.js';
import { median } from './measure.js';

const buckets = Number(process.argv[2] ?? 10_000);
const n = buckets + BAND_WINDOW;
const times = Float64Array.from({ length: n }, (_, i) => i * 60_000);
// A wave with a deterministic jitter: the windows' sorts see realistic, unsorted values.
const avg = Float64Array.from(
  { length: n },
  (_, i) => 20 + Math.sin(i / 10) + ((i * 7919) % 13) / 10,
);
const min = avg.map((v) => v - 0.5);
const max = avg.map((v) => v + 0.5);
const input = { times, avg, min, max };
const from = BAND_WINDOW * 60_000;
for (let r = 0; r < 5; r++) expectedBand(input, from);
const runs: number[] = [];
for (let r = 0; r < 21; r++) {
  const t = performance.now();
  expectedBand(input, from);
  runs.push(performance.now() - t);
}
process.stdout.write(
  `expected band: ${buckets} buckets in ${median(runs).toFixed(2)} ms (median of 21), ` +
    `${((median(runs) / buckets) * 1000).toFixed(2)} µs per bucket\n`,
);
