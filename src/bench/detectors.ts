/**
 * `npm run bench:detectors`: speed and memory of every detector and of the `fast` and `default`
 * strategies on one core, over the NAB corpus held in memory, side by side with a bare loop doing
 * the cheapest online z-score over the same Float64Arrays (what plain JavaScript can do at best).
 *
 * Each scorer is timed in its own worker thread, one after another: a fresh JIT per scorer, so one
 * scorer's type feedback cannot slow the next, and only one core busy at a time. Each figure is the
 * median of several passes; the machine is noisy, so read the ratios.
 */
import { Worker } from 'node:worker_threads';
import { detectorFactories } from '../core/detectors/registry.js';
import {
  extremeValueParamsSchema,
  extremeValueStoreBytes,
} from '../core/detectors/extreme-value.js';
import type { BenchJob, BenchResult } from './bench-worker.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/**
 * `--series N`: live series in each of the two batches built for the heap figure of each
 * strategy (default 50,000 for `fast`, 5,000 for `default`; see `heapPerSeries`).
 * `--only strategies` skips the single detectors; `--breakdown` adds `default`'s bytes by part.
 */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}
const seriesOption = option('--series');
const heapSeries = (fallback: number): number =>
  seriesOption === undefined ? fallback : Number(seriesOption);
const onlyStrategies = option('--only') === 'strategies';

function measure(job: BenchJob): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./bench-worker.js', import.meta.url), {
      workerData: job,
      // Room for `--series` in the millions (the default limit is far below this machine's RAM).
      resourceLimits: { maxOldGenerationSizeMb: 16_384 },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

const jobs: BenchJob[] = [
  { target: 'bare', name: 'bare EW z-score loop', runs: RUNS },
  ...Object.keys(detectorFactories)
    .filter((kind) => kind !== 'ensemble' && !onlyStrategies) // ensemble: through the strategies
    .map((kind): BenchJob => ({ target: 'detector', name: kind, runs: RUNS })),
  { target: 'strategy', name: 'fast', runs: RUNS, heapSeries: heapSeries(50_000) },
  { target: 'strategy', name: 'default', runs: RUNS, heapSeries: heapSeries(5_000) },
  // The alert threshold read once per series and minute (every point here: the corpus is
  // sampled every 5 minutes or more, the worst case for it).
  { target: 'strategy', name: 'fast', runs: RUNS, thresholds: true },
  { target: 'strategy', name: 'default', runs: RUNS, thresholds: true },
];
const results: BenchResult[] = [];
for (const job of jobs) {
  results.push(await measure(job));
  process.stderr.write(`measured ${job.target} ${job.name}\n`);
}

const bare = results[0]!.pointsPerSecond;
const format = (n: number | undefined): string =>
  n === undefined ? '—' : Math.round(n).toLocaleString('en-US');
const lines = [
  `NAB corpus: ${results[0]!.points.toLocaleString('en-US')} points in 58 series; ` +
    `median of ${RUNS} passes, one core, each scorer in a fresh worker`,
  '',
  '| scorer | points/s | × bare loop | snapshot bytes/series | heap bytes/series |',
  '|---|---:|---:|---:|---:|',
  ...results.map(
    (r) =>
      `| ${r.label} | ${format(r.pointsPerSecond)} | ${(r.pointsPerSecond / bare).toFixed(2)} | ` +
      `${format(r.snapshotBytes)} | ${format(r.heapBytesPerSeries)} |`,
  ),
];
process.stdout.write(lines.join('\n') + '\n');

/**
 * `--breakdown`: the bytes of a `default` series' buffer by part, at 5-minute data (most of NAB)
 * and at one sample every 15 s (a Prometheus scrape; the seasonal models at their slot cap).
 */
if (process.argv.includes('--breakdown')) {
  const params = extremeValueParamsSchema.parse({});
  const slotsAt = (intervalMs: number): number =>
    Math.min(params.season_max_slots, Math.round(params.season_ms / intervalMs));
  const five = extremeValueStoreBytes(params, slotsAt(300_000));
  const fifteen = extremeValueStoreBytes(params, slotsAt(15_000));
  const total = (parts: { bytes: number }[]): number => parts.reduce((n, p) => n + p.bytes, 0);
  const rows = [
    '',
    '| `default` series buffer, by part | bytes at 5-min data | at 15 s data |',
    '|---|---:|---:|',
    ...five.map((p, i) => `| ${p.part} | ${format(p.bytes)} | ${format(fifteen[i]!.bytes)} |`),
    `| total | ${format(total(five))} | ${format(total(fifteen))} |`,
  ];
  process.stdout.write(rows.join('\n') + '\n');
}
