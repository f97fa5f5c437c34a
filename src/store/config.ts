/**
 * The `store` section of `vigil serve`'s config file (docs/operations.md, docs/storage.md): its
 * schema, and with the data directory and database URL, the options `openStore` takes.
 */
import path from 'node:path';
import { z } from 'zod';
import { defined } from '../data/defined.js';
import type { OpenStoreOptions } from './open-store.js';

export const storeSchema = z
  .object({
    retention_days: z.number().min(0),
    timescale: z.enum(['auto', 'require', 'off']),
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
  });
}
