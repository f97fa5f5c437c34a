/**
 * How batches travel in the JetStream log (jetstream-log.ts): bytes for the stream, and the
 * device a batch is partitioned by. docs/cluster.md, "The durable log on JetStream".
 */
import { readSpooledBatch, type SpooledBatch } from '../spool-record.js';

export interface LogCodec<T> {
  encode(batch: T): Uint8Array;
  /** @throws Error when the bytes are not an encoded batch. */
  decode(bytes: Uint8Array): T;
  /** The device whose partition the batch goes to. */
  partitionKey(batch: T): string;
}

/**
 * Partition of a device: FNV-1a (32 bit) of its id's UTF-8 bytes, modulo the partition count.
 * Stable across processes, versions and languages: it decides which subject a device's batches
 * are published on, so changing it would move devices between partitions.
 */
export function partitionOf(deviceId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(deviceId)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Spooled batches as their COPY text rows, the same text the local spool writes. A batch is
 * partitioned by its first point's device: in the single-process role the stream is one ordered
 * log whatever the partition, and ingest nodes will send one batch per partition.
 */
export const spooledBatchCodec: LogCodec<SpooledBatch> = {
  encode: (batch) => encoder.encode(batch.rows.text),
  decode: (bytes) => readSpooledBatch(decoder.decode(bytes)),
  partitionKey: (batch) => batch.points[0]?.device_id ?? '',
};
