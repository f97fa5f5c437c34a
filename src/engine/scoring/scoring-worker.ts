/**
 * A scoring worker thread: one `ScoringShard`, fed by the engine's main thread
 * (shard-client.ts). Messages are handled one at a time, in order; a batch's buffers go back
 * with its result (transferred, not copied). A throw while scoring is left uncaught on purpose:
 * the main thread treats a dead worker as fatal (docs/engine.md).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { resultBuffers, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import { packBuffers } from './packed-checkpoints.js';
import { ScoringShard } from './scoring-shard.js';

const port = parentPort;
if (port === null) throw new Error('scoring-worker.js runs as a worker thread');
const init = workerData as WorkerInit;
const shard = new ScoringShard(init.strategies, init.fallback, init.shadows);

port.on('message', (message: ToWorker) => {
  if (message.kind === 'score') {
    const result = shard.score(message.batch);
    const out: FromWorker = { kind: 'result', result };
    port.postMessage(out, resultBuffers(result));
    return;
  }
  let out: FromWorker;
  let transfer: ArrayBuffer[] = [];
  try {
    const reply = shard.handle(message.request);
    // Packed checkpoints move, not copy (they can be hundreds of MB).
    if ('packs' in reply) transfer = packBuffers(reply.packs);
    out = { kind: 'reply', id: message.id, reply };
  } catch (error) {
    out = {
      kind: 'failed',
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(out, transfer);
});
