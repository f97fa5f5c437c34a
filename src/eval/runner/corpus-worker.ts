import { parentPort, workerData } from 'node:worker_threads';
import { compileStrategy } from '../../core/strategy/compile.js';
import { loadCorpus } from '../nab/index.js';
import type { CorpusJob, FileScores } from './messages.js';
import type { Level } from '../../core/thresholds/threshold.js';
import type { AnomalyEvent } from '../../core/events/types.js';

const LEVEL_CODES: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };

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
  const levels = new Uint8Array(values.length);
  const events = new Map<string, AnomalyEvent>();
  for (let i = 0; i < values.length; i++) {
    scores[i] = pipeline.process(times[i]!, values[i]!);
    levels[i] = LEVEL_CODES[pipeline.lastLevel];
    const change = pipeline.lastEventChange;
    if (change !== null) events.set(change.event.id, change.event);
  }
  const last = pipeline.flushEvents(times[times.length - 1] ?? 0);
  if (last !== null) events.set(last.event.id, last.event);
  const result: FileScores = {
    file: index,
    scores,
    levels,
    events: [...events.values()],
    seconds: (performance.now() - started) / 1000,
  };
  parentPort!.postMessage(result, [scores.buffer, levels.buffer]);
}
