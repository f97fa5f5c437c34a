/**
 * The `store` section of `vigil serve`'s config file (docs/operations.md, docs/storage.md): its
 * schema, and with the data directory and database URL, the options `openStore` takes.
 */
import path from 'node:path';
import { z } from 'zod';
import { defined } from '../data/defined.js';
import type { OpenStoreOptions } from './open-store.js';

const hours = (max: number) => z.number().int('expected whole hours').min(0).max(max);

export const storeSchema = z
  .object({
    /** Points older than this (wall clock) are dropped; 0 keeps everything. */
    retention_days: z.number().int('expected whole days').min(0).max(36_500),
    timescale: z.enum(['auto', 'require', 'off']),
    /** TimescaleDB: chunks older than this are compressed; 0 turns compression off. */
    compress_after_hours: hours(876_000),
    /** TimescaleDB: the time span of one chunk of points (new chunks only). */
    chunk_hours: hours(8_760).min(1),
    /** The embedded database's buffer pool (PostgreSQL `shared_buffers`), MB: resident memory. */
    embedded_buffers_mb: z.number().int('expected whole MB').min(1).max(65_536),
  })
  .partial()
  .strict();

export type StoreConfig = z.infer<typeof storeSchema>;

/** PGlite lives in `<dataDir>/pglite` unless a database URL names a server. */
export function storeOptions(
  config: StoreConfig,
  where: { readonly dataDir: string; readonly databaseUrl: string | undefined },
): OpenStoreOptions {
  return defined({
    databaseUrl: where.databaseUrl || undefined,
    dataDir: path.join(where.dataDir, 'pglite'),
    retentionDays: config.retention_days,
    timescale: config.timescale,
    compressAfterHours: config.compress_after_hours,
    chunkHours: config.chunk_hours,
    sharedBuffersMb: config.embedded_buffers_mb,
  });
}
