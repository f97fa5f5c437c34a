/**
 * The engine's store writer: durable batches (already COPY text rows) are committed in the
 * background, in order, at most `batchRows` rows per commit. Commits are idempotent, so one with
 * an unknown outcome is retried (20 times with backoff by default); then the rows stay queued, the
 * next `round` reports the error, and writing resumes a second later. It counts the rows not yet
 * committed per chunk `segment` (the log trimmer's epoch), so the engine knows what the log may
 * forget.
 */
import type { EncodedRows } from '../store/copy-text.js';
import type { Store } from '../store/store.js';
import { exponentialDelay } from '../timing/backoff.js';
import { sleep } from '../timing/sleep.js';
import type { EngineMetrics } from './metrics.js';

export interface StoreChunk {
  /** The log part the batch came from, counted by `unstoredIn` (the engine: a trimmer epoch). */
  readonly segment: number;
  /** Points in the batch. */
  readonly points: number;
  /** The batch's store rows (one per metric), encoded once for the spool and the store. */
  readonly rows: EncodedRows;
}

export interface StoreWriterOptions {
  readonly store: Store;
  /** Most rows per commit. */
  readonly batchRows: number;
  readonly clock: () => number;
  readonly metrics: EngineMetrics | undefined;
  readonly log: (message: string) => void;
  /** After each commit, with its chunks, before the next one starts. */
  readonly onCommitted: (chunks: readonly StoreChunk[]) => Promise<void>;
  readonly retry?: RetryPolicy;
}

export interface RetryPolicy {
  /** Retries of one commit before the writer gives up for a while. */
  readonly attempts: number;
  /** Delay before retry k (from 0): min(maxDelayMs, baseDelayMs × 2^k). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** After giving up, writing resumes this much later. */
  readonly resumeAfterMs: number;
}

const RETRY: RetryPolicy = { attempts: 20, baseDelayMs: 50, maxDelayMs: 2000, resumeAfterMs: 1000 };

export class StoreWriter {
  private readonly queue: StoreChunk[] = [];
  private readonly unstoredBySegment = new Map<number, number>();
  private writer: Promise<void> | undefined;
  private error: unknown;
  /** Rows per second of recent commits (smoothed), for Retry-After hints. */
  private smoothedRate = 50_000;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: StoreWriterOptions) {
    this.retry = options.retry ?? RETRY;
  }

  get rate(): number {
    return this.smoothedRate;
  }

  /** Rows of `segment` not committed yet. */
  unstoredIn(segment: number): number {
    return this.unstoredBySegment.get(segment) ?? 0;
  }

  /** Stop tracking a segment the engine no longer asks about. */
  forget(segment: number): void {
    this.unstoredBySegment.delete(segment);
  }

  /** Queue chunks (one commit may take several) and start writing if idle. */
  push(chunks: readonly StoreChunk[]): void {
    for (const chunk of chunks) {
      this.queue.push(chunk);
      this.unstoredBySegment.set(chunk.segment, this.unstoredIn(chunk.segment) + chunk.rows.rows);
    }
    this.kick();
  }

  /** Nothing queued and nothing being written. */
  get idle(): boolean {
    return this.queue.length === 0 && this.writer === undefined;
  }

  /**
   * Wait for the writing under way (started if needed) to end.
   * @throws the error that made the writer give up, once (it keeps trying in the background).
   */
  async round(): Promise<void> {
    this.reportError();
    this.kick();
    await this.writer;
    this.reportError();
  }

  private reportError(): void {
    if (this.error === undefined) return;
    const error = this.error;
    this.error = undefined;
    throw error;
  }

  private kick(): void {
    if (this.writer !== undefined) return;
    this.writer = this.loop()
      .catch((error: unknown) => {
        // Kept for drain() to report; the rows stay queued (and spooled) and are retried.
        this.error = error;
        setTimeout(() => {
          this.error = undefined;
          this.kick();
        }, this.retry.resumeAfterMs).unref();
      })
      .finally(() => {
        this.writer = undefined;
        if (this.queue.length > 0 && this.error === undefined) this.kick();
      });
  }

  private async loop(): Promise<void> {
    const { store, batchRows, clock, metrics, log } = this.options;
    while (this.queue.length > 0) {
      const chunks: StoreChunk[] = [];
      let rows = 0;
      while (this.queue.length > 0 && rows < batchRows) {
        const chunk = this.queue.shift() as StoreChunk;
        chunks.push(chunk);
        rows += chunk.rows.rows;
      }
      const started = clock();
      const appender = store.appender();
      for (const chunk of chunks) appender.appendEncoded(chunk.rows);
      // Commit is idempotent, so retrying an unknown outcome is safe; keep the rows until then.
      for (let attempt = 0; ; attempt++) {
        const commitStarted = performance.now();
        try {
          await appender.commit();
          metrics?.storeWrite((performance.now() - commitStarted) / 1000);
          break;
        } catch (error) {
          metrics?.storeWrite((performance.now() - commitStarted) / 1000);
          metrics?.storeWriteError();
          if (attempt >= this.retry.attempts) {
            appender.rollback();
            this.queue.unshift(...chunks);
            log(`store write failed, giving up for now: ${String(error)}`);
            throw error;
          }
          log(`store write failed (attempt ${attempt + 1}), retrying: ${String(error)}`);
          const { baseDelayMs, maxDelayMs } = this.retry;
          await sleep(exponentialDelay({ initialMs: baseDelayMs, maxMs: maxDelayMs }, attempt));
        }
      }
      const elapsed = Math.max(1, clock() - started);
      this.smoothedRate = 0.7 * this.smoothedRate + 0.3 * ((rows / elapsed) * 1000);
      for (const chunk of chunks) {
        this.unstoredBySegment.set(chunk.segment, this.unstoredIn(chunk.segment) - chunk.rows.rows);
      }
      await this.options.onCommitted(chunks);
    }
  }
}
