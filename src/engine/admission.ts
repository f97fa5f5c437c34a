/**
 * Admission: what `Engine.ingest` does before the log takes over. Validates, refuses a batch
 * that would take the queue past its limit (BackpressureError), counts every point offered per
 * source (`vigil_ingest_points_total`), and keeps the book of points accepted and not yet stored
 * that backpressure reads.
 */
import { VigilError } from '../errors.js';
import { BackpressureError, type IngestPoint, type IngestResult } from './engine.js';
import type { EngineMetrics } from './metrics.js';
import { spooledBatch, type SpooledBatch } from './spool-record.js';
import { validateBatch, type Limits } from './validate.js';

export interface AdmissionOptions {
  readonly limits: Limits;
  /** Most points accepted and not yet stored and scored. */
  readonly queueLimit: number;
  readonly metrics: EngineMetrics | undefined;
  /** Points handed to scoring and not scored yet. */
  readonly unscored: () => number;
  /** Rows per second the store has been committing, for Retry-After estimates. */
  readonly storeRate: () => number;
  /** Put the batch in the durable log: fixes its place at once, resolves once durable. */
  readonly append: (batch: SpooledBatch) => Promise<unknown>;
}

export class Admission {
  private unstored = 0;
  private closing = false;
  private readonly counts = { accepted: 0, rejected: 0, stored: 0 };

  constructor(private readonly options: AdmissionOptions) {}

  async ingest(
    points: readonly IngestPoint[],
    source: string,
    onQueued?: () => void,
  ): Promise<IngestResult> {
    const { limits, queueLimit, metrics } = this.options;
    if (this.closing) {
      throw new VigilError('VIGIL_ERR_NOT_READY', 'the engine is shutting down');
    }
    if (this.queued() + points.length > queueLimit) {
      this.counts.rejected += points.length;
      metrics?.ingested(source, 'backpressure', points.length);
      throw new BackpressureError(this.retryAfterMs(points.length));
    }
    const { valid, errors } = validateBatch(points, limits);
    metrics?.ingested(source, 'rejected', errors.length);
    if (valid.length === 0) {
      onQueued?.();
      return { accepted: 0, errors };
    }
    this.unstored += valid.length;
    // append() queues the batch synchronously: its place in the log (and scoring) order is set.
    const durable = this.options.append(spooledBatch(valid));
    onQueued?.();
    try {
      await durable;
    } catch (error) {
      this.unstored -= valid.length;
      throw new VigilError('VIGIL_ERR_STORE_WRITE', `durable log write failed: ${String(error)}`, {
        cause: error,
      });
    }
    this.counts.accepted += valid.length;
    metrics?.ingested(source, 'accepted', valid.length);
    return { accepted: valid.length, errors };
  }

  /** Refuse ingest from now on (`VIGIL_ERR_NOT_READY`). */
  close(): void {
    this.closing = true;
  }

  /** Points read back from the log on start: accepted in an earlier run, maybe not stored. */
  replayed(points: number): void {
    this.unstored += points;
  }

  /** Points committed to the store. */
  stored(points: number): void {
    this.unstored -= points;
    this.counts.stored += points;
  }

  /** What backpressure measures: the longer of the store's and scoring's queues. */
  queued(): number {
    return Math.max(this.unstored, this.options.unscored());
  }

  stats(): { readonly accepted: number; readonly rejected: number; readonly stored: number } {
    return { ...this.counts };
  }

  private retryAfterMs(incoming: number): number {
    const excess = this.queued() + incoming - this.options.queueLimit;
    const rate = Math.max(1, this.options.storeRate());
    return Math.min(5000, Math.max(10, Math.ceil((excess / rate) * 1000)));
  }
}
