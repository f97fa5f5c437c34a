/**
 * How the engine talks to a scoring shard, wherever it runs: `InProcessShard` calls the shard
 * directly (synchronously, `workers: 0`), `WorkerShard` posts to a worker thread
 * (scoring-worker.ts), transferring the batch buffers. Either way batches and requests are
 * handled in the order given, and results come back in that order.
 */
import { Worker } from 'node:worker_threads';
import type {
  FromWorker,
  ReplyOf,
  ShardBatch,
  ShardRequest,
  ShardResult,
  ToWorker,
  WorkerInit,
} from './protocol.js';
import { batchBuffers } from './protocol.js';
import { ScoringShard } from './scoring-shard.js';

export type Request<K extends ShardRequest['op']> = Extract<ShardRequest, { op: K }>;

export interface ShardClient {
  /** Hand over a batch; its result goes to the `onResult` given at creation, in order. */
  score(batch: ShardBatch): void;
  request<K extends ShardRequest['op']>(request: Request<K>): Promise<ReplyOf[K]>;
  close(): Promise<void>;
}

export class InProcessShard implements ShardClient {
  private readonly shard: ScoringShard;

  constructor(
    init: WorkerInit,
    private readonly onResult: (result: ShardResult) => void,
  ) {
    this.shard = new ScoringShard(init.strategies, init.fallback, init.shadows);
  }

  score(batch: ShardBatch): void {
    this.onResult(this.shard.score(batch));
  }

  /** Runs now (synchronously): a swap lands between two batches. */
  request<K extends ShardRequest['op']>(request: Request<K>): Promise<ReplyOf[K]> {
    try {
      return Promise.resolve(this.shard.handle(request) as ReplyOf[K]);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const WORKER = new URL('./scoring-worker.js', import.meta.url);

/**
 * A worker thread started on first use: a service that has no points yet holds no thread (its
 * ~10 MB and its start-up, which competed with the rest of the service's). A shard never started
 * holds no series, so it answers a checkpoint's snapshot and dirty marks itself (only without
 * shadow runs, which the worker would set up); every other request, and the first batch, start it.
 */
export class WorkerShard implements ShardClient {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve(reply: unknown): void; reject(error: Error): void }
  >();
  private closing = false;

  /**
   * @param onFatal the worker died or threw while scoring: its state is gone, so the engine
   *   cannot keep its exactly-once promise in this process (see docs/engine.md).
   */
  constructor(
    private readonly init: WorkerInit,
    private readonly name: string,
    private readonly onResult: (result: ShardResult) => void,
    private readonly onFatal: (error: Error) => void,
  ) {}

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER, { workerData: this.init, name: this.name });
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (!this.closing)
        this.fail(new Error(`scoring worker ${this.name} exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  /** What a shard that was never given anything answers, without starting its thread. */
  private unstartedReply(request: ShardRequest): ReplyOf[keyof ReplyOf] | undefined {
    if (this.worker !== undefined || (this.init.shadows?.length ?? 0) > 0) return undefined;
    if (request.op === 'snapshot') return { packs: [], evicted: [] };
    if (request.op === 'dirty') return { marked: 0 };
    return undefined;
  }

  private receive(message: FromWorker): void {
    if (message.kind === 'result') {
      this.onResult(message.result);
      return;
    }
    const waiter = this.waiting.get(message.id);
    if (waiter === undefined) return;
    this.waiting.delete(message.id);
    if (message.kind === 'reply') waiter.resolve(message.reply);
    else waiter.reject(new Error(message.message));
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    this.onFatal(error);
  }

  score(batch: ShardBatch): void {
    const message: ToWorker = { kind: 'score', batch };
    this.started().postMessage(message, batchBuffers(batch));
  }

  request<K extends ShardRequest['op']>(request: Request<K>): Promise<ReplyOf[K]> {
    const answered = this.unstartedReply(request);
    if (answered !== undefined) return Promise.resolve(answered as ReplyOf[K]);
    return new Promise<ReplyOf[K]>((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve: (reply) => resolve(reply as ReplyOf[K]), reject });
      const message: ToWorker = { kind: 'request', id, request };
      this.started().postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker?.terminate();
  }
}
