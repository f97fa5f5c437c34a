/** A worker thread of `npm run fuzz`: runs one target and posts failures, progress, summary. */
import { parentPort, workerData } from 'node:worker_threads';
import { runTarget, type Failure, type Summary } from './run.js';
import { targetNamed } from './targets/index.js';

export interface WorkerTask {
  readonly target: string;
  readonly seed: number;
  readonly cases: number;
}

export type WorkerMessage =
  | { readonly type: 'failure'; readonly failure: Failure }
  | { readonly type: 'progress'; readonly done: number }
  | { readonly type: 'summary'; readonly summary: Summary };

if (parentPort !== null) {
  const port = parentPort;
  const task = workerData as WorkerTask;
  const target = targetNamed(task.target);
  if (target === undefined) throw new Error(`no target ${task.target}`);
  const post = (message: WorkerMessage): void => port.postMessage(message);
  const summary = await runTarget(target, {
    seed: task.seed,
    cases: task.cases,
    onFailure: (failure) => post({ type: 'failure', failure }),
    onProgress: (done) => {
      if (done % 100_000 === 0) post({ type: 'progress', done });
    },
  });
  post({ type: 'summary', summary });
}
