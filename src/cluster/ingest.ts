/**
 * What an ingest node does with a batch (docs/cluster.md, "Ingest"): validate it as the engine
 * would, split the valid points by device partition (keeping their order), publish one batch per
 * partition to the JetStream stream, and acknowledge only once JetStream acknowledged every one
 * of them. No scoring, no store writes: the scorer owning each partition does both.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { VigilError } from '../errors.js';
import type { IngestPoint, IngestResult } from '../engine/engine.js';
import { JetStreamLog } from '../engine/log/jetstream-log.js';
import { partitionOf, spooledBatchCodec } from '../engine/log/jetstream-log-codec.js';
import { spooledBatch, type SpooledBatch } from '../engine/spool-record.js';
import { DEFAULT_LIMITS, validateBatch, type Limits, type ValidPoint } from '../engine/validate.js';
import type { ClusterSettings } from './config.js';

/**
 * Largest batch body published (COPY text): well under NATS's default 1 MiB payload, so a
 * scorer always reads whole messages (bigger ones are split by points).
 */
const MAX_BODY = 512 * 1024;

export class IngestPublisher {
  private acceptedPoints = 0;
  private rejectedPoints = 0;

  private constructor(
    private readonly log: JetStreamLog<SpooledBatch>,
    private readonly partitions: number,
    private readonly limits: Limits,
  ) {}

  /** Opens (creating if missing) the stream on `nc`. */
  static async open(
    nc: NatsConnection,
    cluster: ClusterSettings,
    options: { limits?: Partial<Limits>; log?: (message: string) => void } = {},
  ): Promise<IngestPublisher> {
    const log = await JetStreamLog.open(
      {
        connection: nc,
        stream: cluster.stream,
        partitions: cluster.partitions,
        codec: spooledBatchCodec,
        ...(options.log && { log: options.log }),
      },
      () => undefined,
    );
    return new IngestPublisher(log, cluster.partitions, { ...DEFAULT_LIMITS, ...options.limits });
  }

  stats(): { readonly accepted: number; readonly rejected: number } {
    return { accepted: this.acceptedPoints, rejected: this.rejectedPoints };
  }

  /**
   * Resolves once every valid point is stored in the stream.
   * @throws VigilError VIGIL_ERR_STORE_WRITE (503) when JetStream did not acknowledge: nothing of
   *   the batch is acknowledged, the client retries (points stored twice are stored once).
   */
  async ingest(points: readonly IngestPoint[]): Promise<IngestResult> {
    const { valid, errors } = validateBatch(points, this.limits);
    this.rejectedPoints += errors.length;
    const byPartition = new Map<number, ValidPoint[]>();
    for (const p of valid) {
      const partition = partitionOf(p.device_id, this.partitions);
      let list = byPartition.get(partition);
      if (list === undefined) byPartition.set(partition, (list = []));
      list.push(p);
    }
    // Every append is handed over here, synchronously: a device's batches keep their order.
    const appends: Promise<unknown>[] = [];
    for (const list of byPartition.values()) {
      for (const batch of bounded(list)) appends.push(this.log.append(batch));
    }
    try {
      await Promise.all(appends);
    } catch (error) {
      throw new VigilError(
        'VIGIL_ERR_STORE_WRITE',
        `JetStream did not store the batch: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    this.acceptedPoints += valid.length;
    return { accepted: valid.length, errors: [...errors].sort((a, b) => a.index - b.index) };
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

/** The points as batches of at most MAX_BODY bytes of text (halving a batch too big). */
function bounded(points: ValidPoint[]): SpooledBatch[] {
  const batch = spooledBatch(points);
  if (batch.rows.text.length <= MAX_BODY || points.length < 2) return [batch];
  const half = Math.ceil(points.length / 2);
  return [...bounded(points.slice(0, half)), ...bounded(points.slice(half))];
}
