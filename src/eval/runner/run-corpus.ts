import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Strategy } from '../../core/strategy/schema.js';
import type { CorpusJob, FileScores } from './messages.js';
import type { AnomalyEvent } from '../../core/events/types.js';

export interface CorpusRun {
  /** Scores per corpus file, in corpus order. */
  readonly scores: Float64Array[];
  /** Levels per corpus file (0 ok, 1 alert, 2 severe), in corpus order. */
  readonly levels: Uint8Array[];
  /** Events per corpus file, in corpus order. */
  readonly events: (readonly AnomalyEvent[])[];
  readonly points: number;
  readonly wallSeconds: number;
  /** Sum of the workers' scoring time: points / cpuSeconds is the per-core rate. */
  readonly cpuSeconds: number;
  readonly workers: number;
}

/**
 * Scores every file of a corpus with one strategy on `workers` threads. Files are dealt out
 * largest first to the least-loaded worker so both cores finish together.
 */
export async function runStrategyOnCorpus(
  dataDir: string,
  strategy: Strategy,
  fileSizes: readonly number[],
  workers = availableParallelism(),
): Promise<CorpusRun> {
  const threads = Math.max(1, Math.min(workers, fileSizes.length));
  const shares: number[][] = Array.from({ length: threads }, () => []);
  const load = new Array<number>(threads).fill(0);
  const order = fileSizes.map((size, i) => ({ size, i })).sort((a, b) => b.size - a.size);
  for (const { size, i } of order) {
    const target = load.indexOf(Math.min(...load));
    shares[target]!.push(i);
    load[target]! += size;
  }

  const scores = new Array<Float64Array>(fileSizes.length);
  const levels = new Array<Uint8Array>(fileSizes.length);
  const events = new Array<readonly AnomalyEvent[]>(fileSizes.length);
  let cpuSeconds = 0;
  const started = performance.now();
  await Promise.all(
    shares.map(
      (files) =>
        new Promise<void>((resolve, reject) => {
          const job: CorpusJob = { dataDir, strategy, files };
          const worker = new Worker(new URL('./corpus-worker.js', import.meta.url), {
            workerData: job,
          });
          worker.on('message', (message: FileScores) => {
            scores[message.file] = message.scores;
            levels[message.file] = message.levels;
            events[message.file] = message.events;
            cpuSeconds += message.seconds;
          });
          worker.on('error', reject);
          worker.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`corpus worker exited with code ${code}`)),
          );
        }),
    ),
  );
  const points = fileSizes.reduce((a, b) => a + b, 0);
  return {
    scores,
    levels,
    events,
    points,
    wallSeconds: (performance.now() - started) / 1000,
    cpuSeconds,
    workers: threads,
  };
}
