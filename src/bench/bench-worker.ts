import { parentPort, workerData } from 'node:worker_threads';
import { createDetector } from '../core/detectors/registry.js';
import { compileStrategy } from '../core/strategy/compile.js';
import { resolveStrategy } from '../strategy-files/load.js';
import { loadCorpus } from '../eval/nab/index.js';
import { defaultNabDataDir } from '../cli/nab.js';
import { bareEwZscoreLoop, heapPerSeries, median } from './measure.js';
import { BAND_EVERY_MS } from '../engine/scoring/protocol.js';

export interface BenchJob {
  readonly target: 'bare' | 'detector' | 'strategy';
  readonly name: string;
  readonly runs: number;
  /** Live series to build for the heap figure (strategies only). */
  readonly heapSeries?: number;
  /**
   * Strategies only: also read the alert threshold at each series' first point of every minute,
   * as the scoring shards do (scoring-shard.ts).
   */
  readonly thresholds?: boolean;
}

export interface BenchResult {
  readonly label: string;
  readonly points: number;
  readonly pointsPerSecond: number;
  readonly snapshotBytes?: number;
  readonly heapBytesPerSeries?: number;
  /** Thresholds read over all passes (`thresholds` jobs). */
  readonly thresholds?: number;
}

/** Thresholds read (`thresholds` jobs), so the JIT cannot drop the work. */
let bands = 0;

type Scorer = { update(t: number, x: number): number; snapshot(): unknown };

const job = workerData as BenchJob;
const corpus = await loadCorpus(defaultNabDataDir());
const series = corpus.files.map((f) => ({ times: f.times, values: f.values }));
const points = series.reduce((n, s) => n + s.values.length, 0);
const longest = series.reduce((a, b) => (b.values.length > a.values.length ? b : a));

let make: () => Scorer;
let label: string;
if (job.target === 'detector') {
  label = `detector ${job.name}`;
  make = () => createDetector(job.name, {}, 42);
} else {
  label = job.target === 'strategy' ? `strategy ${job.name}` : job.name;
  if (job.thresholds === true) label += ' + threshold per minute';
  const pipelineFor = compileStrategy(
    await resolveStrategy(job.target === 'strategy' ? job.name : 'fast'),
  );
  make =
    job.thresholds === true
      ? () => {
          const pipeline = pipelineFor('bench');
          let last = Number.NEGATIVE_INFINITY;
          return {
            update: (t, x) => {
              if (Math.floor(t / BAND_EVERY_MS) !== Math.floor(last / BAND_EVERY_MS)) {
                const band = pipeline.alertBand(t, x);
                if (band !== null) bands++;
              }
              last = t;
              return pipeline.process(t, x);
            },
            snapshot: () => pipeline.snapshot(),
          };
        }
      : () => {
          const pipeline = pipelineFor('bench');
          return { update: (t, x) => pipeline.process(t, x), snapshot: () => pipeline.snapshot() };
        };
}

/** One pass over the corpus with a fresh scorer per series; returns points per second. */
function pass(): number {
  let sink = 0;
  const started = performance.now();
  if (job.target === 'bare') {
    for (const { values } of series) sink += bareEwZscoreLoop(values, 0.01);
  } else {
    for (const { times, values } of series) {
      const scorer = make();
      for (let i = 0; i < values.length; i++) sink += scorer.update(times[i]!, values[i]!);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (Number.isNaN(sink)) throw new Error(`${label} produced NaN`);
  return points / seconds;
}

pass(); // warm the JIT
const rates = Array.from({ length: job.runs }, pass);
const result: BenchResult = {
  label,
  points,
  pointsPerSecond: median(rates),
  ...(job.thresholds === true ? { thresholds: bands } : {}),
};
if (job.target !== 'bare') {
  const scorer = make();
  for (let i = 0; i < longest.values.length; i++)
    scorer.update(longest.times[i]!, longest.values[i]!);
  Object.assign(result, { snapshotBytes: Buffer.byteLength(JSON.stringify(scorer.snapshot())) });
}
if (job.target === 'strategy' && job.heapSeries !== undefined) {
  const pipelineFor = compileStrategy(await resolveStrategy(job.name));
  Object.assign(result, {
    heapBytesPerSeries: heapPerSeries(pipelineFor, longest, job.heapSeries),
  });
}
parentPort!.postMessage(result);
