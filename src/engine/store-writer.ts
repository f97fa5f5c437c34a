/**
 * The engine's store writer: durable batches (already COPY text rows) are committed in the
 * background, in order, at most `batchRows` rows per commit. Commits are idempotent, so one with
 * an unknown outcome is retried (20 times with backoff by default); then the rows stay queued, the
 * next `round` reports the error, and writing resumes a second later. It counts the rows not yet
 * committed per chunk `segment` (the log trimmer's epoch), so the engine knows what the log may
 * forget. A commit the database refuses for its data (a data exception: SQLSTATE class 22, or 23
 * other than a unique violation) is split in halves until the refused rows are found; they go to
 * the store's point dead letters and the rest is stored, so one row never stalls the log.
 */
import { decodeRows, SeriesExtents, type EncodedRows } from '../store/copy-text.js';
import type { RejectedRow, Store } from '../store/store.js';
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

/**
 * Whether a failed commit is the data's fault, so retrying it as it is can never succeed. The
 * store wraps the driver's error; its SQLSTATE is on the cause.
 */
export function isDataError(error: unknown): boolean {
  for (let e = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code) && code !== '23505') {
      return true;
    }
    if (e instanceof Error && /invalid input syntax/.test(e.message)) return true;
    if (typeof e !== 'object') break;
  }
  return false;
}

/** Some lines of COPY text as rows an appender takes. */
function rowsOf(lines: readonly string[]): EncodedRows {
  const text = lines.join('');
  const extents = new SeriesExtents();
  for (const r of decodeRows(text)) extents.add(r.device, r.metric, r.time);
  return { text, rows: lines.length, extents };
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
  /** Aborted by `stop`: no commit starts or is retried after it, no backoff is waited out. */
  private readonly stopping = new AbortController();

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

  /**
   * Stop writing (a shutdown whose budget ran out): no commit is started or retried, a backoff
   * under way ends, and `onCommitted` is not called again, so the log keeps every row not yet
   * acknowledged by `onCommitted`; the next start replays them (commits are idempotent).
   */
  stop(): void {
    this.stopping.abort();
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
    if (this.writer !== undefined || this.stopping.signal.aborted) return;
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
    const { signal } = this.stopping;
    while (this.queue.length > 0 && !signal.aborted) {
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
          if (isDataError(error)) {
            appender.rollback();
            try {
              await this.isolate(chunks, error);
            } catch (again) {
              // Not the data this time (the database went away): keep the rows, as below.
              this.queue.unshift(...chunks);
              log(`store write failed, giving up for now: ${String(again)}`);
              throw again;
            }
            break;
          }
          if (attempt >= this.retry.attempts || signal.aborted) {
            appender.rollback();
            this.queue.unshift(...chunks);
            log(`store write failed, giving up for now: ${String(error)}`);
            throw error;
          }
          log(`store write failed (attempt ${attempt + 1}), retrying: ${String(error)}`);
          const { baseDelayMs, maxDelayMs } = this.retry;
          await sleep(
            exponentialDelay({ initialMs: baseDelayMs, maxMs: maxDelayMs }, attempt),
            signal,
          );
        }
      }
      // Stopped while this commit was under way: its rows stay in the log, replayed next start.
      if (signal.aborted) return;
      const elapsed = Math.max(1, clock() - started);
      this.smoothedRate = 0.7 * this.smoothedRate + 0.3 * ((rows / elapsed) * 1000);
      for (const chunk of chunks) {
        this.unstoredBySegment.set(chunk.segment, this.unstoredIn(chunk.segment) - chunk.rows.rows);
      }
      await this.options.onCommitted(chunks);
    }
  }

  /**
   * Store `chunks` whose commit the database refused for its data: halves are committed on their
   * own until single refused rows remain, which go to the point dead letters. Commits are
   * idempotent, so rows a failed attempt covered are simply committed again.
   * @throws when a commit fails for another reason.
   */
  private async isolate(chunks: readonly StoreChunk[], first: unknown): Promise<void> {
    const { store, metrics, log } = this.options;
    const lines: string[] = [];
    for (const chunk of chunks) {
      for (const line of chunk.rows.text.split(/(?<=\n)/)) if (line.length > 0) lines.push(line);
    }
    const rejected: RejectedRow[] = [];
    const commit = async (part: readonly string[], known?: unknown): Promise<void> => {
      let error = known;
      let rows: EncodedRows | undefined;
      try {
        rows = rowsOf(part);
      } catch (e) {
        error ??= e; // not a row written by Vigil: as refused as the database's refusal
      }
      if (error === undefined && rows !== undefined) {
        const appender = store.appender();
        appender.appendEncoded(rows);
        try {
          await appender.commit();
          return;
        } catch (e) {
          appender.rollback();
          if (!isDataError(e)) throw e;
          error = e;
        }
      }
      if (part.length === 1) {
        rejected.push({ row: part[0] as string, error: String(error) });
        return;
      }
      const half = Math.ceil(part.length / 2);
      await commit(part.slice(0, half));
      await commit(part.slice(half));
    };
    await commit(lines, first);
    await store.pointDeadLetters.save(rejected);
    metrics?.storeRejectedRows(rejected.length);
    for (const r of rejected) {
      log(
        `store refused a point row, kept in point_dead_letters: ${r.error}: ${JSON.stringify(r.row.slice(0, 200))}`,
      );
    }
  }
}
