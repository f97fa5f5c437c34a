/**
 * Admission: what `Engine.ingest` does before the log takes over. Validates, refuses a batch
 * that would take the queue past its limits (BackpressureError), refuses points that would create
 * a series beyond a cardinality cap (VIGIL_ERR_CARDINALITY, per point), counts every point offered
 * per source (`vigil_ingest_points_total`), and keeps the book of values and bytes accepted and
 * not yet stored that backpressure reads. docs/engine.md "Backpressure" and "Limits".
 */
import { VigilError } from '../errors.js';
import {
  BackpressureError,
  type IngestPoint,
  type IngestResult,
  type PointError,
} from './engine.js';
import type { EngineMetrics } from './metrics.js';
import { KnownSeries, type CapReason, type CardinalityCaps } from './known-series.js';
import { spooledBatch, type SpooledBatch } from './spool-record.js';
import { validateBatch, type Limits, type ValidPoint } from './validate.js';

export interface AdmissionOptions {
  readonly limits: Limits;
  /** Most values (metrics of points) accepted and not yet stored and scored. */
  readonly queueLimit: number;
  /** Most bytes of store rows (the COPY text) accepted and not yet stored. */
  readonly queueBytesLimit?: number;
  /** Caps on live series; none when absent. */
  readonly caps?: CardinalityCaps;
  /** Series that exist at start (restored from checkpoints). */
  readonly series?: Iterable<readonly [device: string, metric: string]>;
  readonly metrics: EngineMetrics | undefined;
  /** Values handed to scoring and not scored yet. */
  readonly unscored: () => number;
  /** Rows (values) per second the store has been committing, for Retry-After estimates. */
  readonly storeRate: () => number;
  /** Put the batch in the durable log: fixes its place at once, resolves once durable. */
  readonly append: (batch: SpooledBatch) => Promise<unknown>;
}

export class Admission {
  private unstored = 0;
  private unstoredBytes = 0;
  private closing = false;
  private readonly counts = { accepted: 0, rejected: 0, stored: 0 };
  private readonly known: KnownSeries;

  constructor(private readonly options: AdmissionOptions) {
    this.known = new KnownSeries(options.caps, options.series ?? []);
  }

  async ingest(
    points: readonly IngestPoint[],
    source: string,
    onQueued?: () => void,
  ): Promise<IngestResult> {
    const { limits, metrics } = this.options;
    if (this.closing) {
      throw new VigilError('VIGIL_ERR_NOT_READY', 'the engine is shutting down');
    }
    const checked = validateBatch(points, limits);
    const errors: PointError[] = checked.errors;
    const capped = { device: 0, total: 0 };
    let indexed: number[] | undefined; // request index of each valid point, when first needed
    const admitted = this.known.admit(checked.valid, (i, reason, message) => {
      indexed ??= requestIndices(points.length, checked.errors);
      errors.push({ index: indexed[i] as number, code: 'VIGIL_ERR_CARDINALITY', message });
      capped[reason]++;
    });
    const valid = admitted.accepted;
    if (valid.length === 0) {
      admitted.commit();
      this.countRefused(capped);
      metrics?.ingested(source, 'rejected', errors.length);
      onQueued?.();
      return { accepted: 0, errors: sorted(errors) };
    }
    const batch = spooledBatch(valid);
    const values = batch.rows.rows;
    const bytes = batch.rows.text.length;
    // Both limits are checked on the encoded batch: its rows are exactly its values.
    const overValues = this.queued() + values - this.options.queueLimit;
    if (overValues > 0) return this.refuse(points.length, source, overValues);
    const bytesLimit = this.options.queueBytesLimit ?? Number.POSITIVE_INFINITY;
    if (this.unstoredBytes > 0 && this.unstoredBytes + bytes > bytesLimit) {
      // New series stay unknown: nothing of this batch was accepted. The excess bytes, in values
      // at this batch's bytes per value, for the Retry-After estimate.
      const excess = ((this.unstoredBytes + bytes - bytesLimit) / bytes) * batch.rows.rows;
      return this.refuse(points.length, source, excess);
    }
    admitted.commit();
    this.countRefused(capped);
    metrics?.ingested(source, 'rejected', errors.length);
    this.unstored += values;
    this.unstoredBytes += bytes;
    // append() queues the batch synchronously: its place in the log (and scoring) order is set.
    const durable = this.options.append(batch);
    onQueued?.();
    try {
      await durable;
    } catch (error) {
      this.unstored -= values;
      this.unstoredBytes -= bytes;
      throw new VigilError('VIGIL_ERR_STORE_WRITE', `durable log write failed: ${String(error)}`, {
        cause: error,
      });
    }
    this.counts.accepted += valid.length;
    metrics?.ingested(source, 'accepted', valid.length);
    return { accepted: valid.length, errors: sorted(errors) };
  }

  /** Refuse ingest from now on (`VIGIL_ERR_NOT_READY`). */
  close(): void {
    this.closing = true;
  }

  /**
   * A batch read back from the log on start: accepted in an earlier run, maybe not stored. Its
   * values count as unstored; returns the points to score, those within the cardinality caps
   * (the rest are stored, not scored).
   */
  replayed(batch: SpooledBatch): ValidPoint[] {
    this.unstored += batch.rows.rows;
    this.unstoredBytes += batch.rows.text.length;
    const capped = { device: 0, total: 0 };
    const admitted = this.known.admit(batch.points, (_i, reason) => capped[reason]++);
    admitted.commit();
    this.countRefused(capped);
    return admitted.accepted;
  }

  /** Points committed to the store, with their values (rows) and bytes of COPY text. */
  stored(points: number, values: number, bytes: number): void {
    this.unstored -= values;
    this.unstoredBytes -= bytes;
    this.counts.stored += points;
  }

  /** What backpressure measures, in values: the longer of the store's and scoring's queues. */
  queued(): number {
    return Math.max(this.unstored, this.options.unscored());
  }

  /** Bytes of store rows accepted and not yet stored. */
  queuedBytes(): number {
    return this.unstoredBytes;
  }

  /** Series admission knows of (restored, replayed or accepted). */
  series(): number {
    return this.known.size;
  }

  stats(): { readonly accepted: number; readonly rejected: number; readonly stored: number } {
    return { ...this.counts };
  }

  private countRefused(capped: Readonly<Record<CapReason, number>>): void {
    this.options.metrics?.seriesRefused('device', capped.device);
    this.options.metrics?.seriesRefused('total', capped.total);
  }

  /** Refuse the whole batch; `excess`: values over the limit, for the Retry-After estimate. */
  private refuse(points: number, source: string, excess: number): never {
    this.counts.rejected += points;
    this.options.metrics?.ingested(source, 'backpressure', points);
    const rate = Math.max(1, this.options.storeRate());
    throw new BackpressureError(Math.min(5000, Math.max(10, Math.ceil((excess / rate) * 1000))));
  }
}

/** Index in the request of each valid point (validation keeps order, drops the erroneous). */
function requestIndices(total: number, errors: readonly PointError[]): number[] {
  const bad = new Set(errors.map((e) => e.index));
  const out: number[] = [];
  for (let i = 0; i < total; i++) if (!bad.has(i)) out.push(i);
  return out;
}

function sorted(errors: PointError[]): PointError[] {
  return errors.length > 1 ? errors.sort((a, b) => a.index - b.index) : errors;
}
