/**
 * The `limits` section of `vigil serve`'s config file (docs/operations.md): its schema, and the
 * HTTP server's limits from it (body size, buckets, open connections). `points_per_request` bounds the ingest routes (`POST /v1/points`,
 * Influx lines), which take it from here too.
 */
import { z } from 'zod';
import { defined } from '../data/defined.js';
import type { HttpLimits } from './http.js';

const positive = z.number().int().positive();

export const limitsSchema = z
  .object({
    body_bytes: positive,
    points_per_request: positive,
    buckets_per_query: positive,
    max_connections: positive,
  })
  .partial()
  .strict();

export type LimitsConfig = z.infer<typeof limitsSchema>;

export function httpLimits(config: LimitsConfig): Partial<HttpLimits> {
  return defined({
    bodyBytes: config.body_bytes,
    bucketsPerQuery: config.buckets_per_query,
    maxConnections: config.max_connections,
  });
}
