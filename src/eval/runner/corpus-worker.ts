import { parentPort, workerData } from 'node:worker_threads';
import { compileStrategy } from '../../core/strategy/compile.js';
import { loadCorpus } from '../nab/index.js';
import type { CorpusJob, FileScores } from './messages.js';

/**
 * Worker thread: scores its share of the corpus with a fresh pipeline per file. The series key
 * is the same for every file so that nothing about a file (not even its name) reaches detection.
 */
const job = workerData as CorpusJob;
const corpus = await loadCorpus(job.dataDir);
const pipelineFor = compileStrategy(job.strategy);
for (const index of job.files) {
  const file = corpus.files[index]!;
  const started = performance.now();
  const pipeline = pipelineFor('nab');
  const { times, values } = file;
  const scores = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) scores[i] = pipeline.process(times[i]!, values[i]!);
  const result: FileScores = {
    file: index,
    scores,
    seconds: (performance.now() - started) / 1000,
  };
  parentPort!.postMessage(result, [scores.buffer]);
}
