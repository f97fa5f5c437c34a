/**
 * `npm run bench:detectors`: speed and memory of every detector and of the `fast` and `default`
 * strategies on one core, over the NAB corpus held in memory, side by side with a bare loop doing
 * the cheapest online z-score over the same Float64Arrays (what plain JavaScript can do at best).
 * Each figure is the median of several runs; the machine is noisy, so read ratios, not absolutes.
 */
import { detectorFactories } from '../core/detectors/registry.js';
import type { Detector } from '../core/detectors/detector.js';
import { compileStrategy } from '../core/strategy/compile.js';
import { resolveStrategy } from '../core/strategy/load.js';
import { loadCorpus } from '../eval/nab/index.js';
import { defaultNabDataDir } from '../cli/nab.js';
import { median, bareEwZscoreLoop, heapPerSeries } from './measure.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const corpus = await loadCorpus(defaultNabDataDir());
const series = corpus.files.map((f) => ({ times: f.times, values: f.values }));
const points = series.reduce((n, s) => n + s.values.length, 0);

interface Row {
  name: string;
  pointsPerSecond: number;
  snapshotBytes: number;
}

/** Times `RUNS` passes over the corpus, a fresh scorer per series each pass. */
function timeScorer(makeScorer: () => (t: number, x: number) => number): number {
  const rates: number[] = [];
  let sink = 0;
  for (let run = 0; run < RUNS + 1; run++) {
    const started = performance.now();
    for (const { times, values } of series) {
      const score = makeScorer();
      for (let i = 0; i < values.length; i++) sink += score(times[i]!, values[i]!);
    }
    const seconds = (performance.now() - started) / 1000;
    if (run > 0) rates.push(points / seconds); // the first pass warms up the JIT
  }
  if (Number.isNaN(sink)) throw new Error('a scorer returned NaN');
  return median(rates);
}

function snapshotBytes(makeSnapshot: () => unknown): number {
  return Buffer.byteLength(JSON.stringify(makeSnapshot()));
}

const bareRates: number[] = [];
for (let run = 0; run < RUNS + 1; run++) {
  const started = performance.now();
  let sink = 0;
  for (const { values } of series) sink += bareEwZscoreLoop(values, 0.01);
  if (run > 0) bareRates.push(points / ((performance.now() - started) / 1000));
  if (Number.isNaN(sink)) throw new Error('bare loop returned NaN');
}
const bare = median(bareRates);

const longest = series.reduce((a, b) => (b.values.length > a.values.length ? b : a));
const rows: Row[] = [];
for (const factory of Object.values(detectorFactories)) {
  if (factory.kind === 'ensemble') continue; // measured through the strategies that use it
  const params = factory.paramsSchema.parse({});
  const make = (): Detector => factory.create(params, 42);
  rows.push({
    name: `detector ${factory.kind}`,
    pointsPerSecond: timeScorer(() => {
      const detector = make();
      return (t, x) => detector.update(t, x);
    }),
    snapshotBytes: snapshotBytes(() => {
      const detector = make();
      for (let i = 0; i < longest.values.length; i++)
        detector.update(longest.times[i]!, longest.values[i]!);
      return detector.snapshot();
    }),
  });
}
const heap: { name: string; bytes: number }[] = [];
for (const name of ['fast', 'default']) {
  const pipelineFor = compileStrategy(await resolveStrategy(name));
  rows.push({
    name: `strategy ${name}`,
    pointsPerSecond: timeScorer(() => {
      const pipeline = pipelineFor('bench');
      return (t, x) => pipeline.process(t, x);
    }),
    snapshotBytes: snapshotBytes(() => {
      const pipeline = pipelineFor('bench');
      for (let i = 0; i < longest.values.length; i++)
        pipeline.process(longest.times[i]!, longest.values[i]!);
      return pipeline.snapshot();
    }),
  });
  heap.push({
    name,
    bytes: heapPerSeries(pipelineFor, longest, name === 'fast' ? 100_000 : 10_000),
  });
}

const format = (n: number): string => Math.round(n).toLocaleString('en-US');
process.stdout.write(
  `NAB corpus: ${points.toLocaleString('en-US')} points in ${series.length} series; ` +
    `median of ${RUNS} runs, one core\n\n` +
    `| scorer | points/s | × bare loop | snapshot bytes/series |\n|---|---:|---:|---:|\n` +
    `| bare EW z-score loop | ${format(bare)} | 1.00 | — |\n` +
    rows
      .map(
        (r) =>
          `| ${r.name} | ${format(r.pointsPerSecond)} | ${(r.pointsPerSecond / bare).toFixed(2)} | ${format(r.snapshotBytes)} |`,
      )
      .join('\n') +
    '\n\n| strategy | heap bytes per live series |\n|---|---:|\n' +
    heap.map((h) => `| ${h.name} | ${format(h.bytes)} |`).join('\n') +
    '\n',
);
