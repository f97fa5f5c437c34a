/**
 * The `rate_limits` section of `vigil serve`'s config file (docs/operations.md): the sustained
 * rates every caller gets unless its token sets its own. Absent (the default): no limit.
 */
import { z } from 'zod';
import { defined } from '../data/defined.js';
import type { RateLimitOptions } from './rate-limit.js';

const rate = z.number().positive().finite();

export const rateLimitsSchema = z
  .object({
    /** Requests per second per caller (each token; all callers together without auth). */
    requests_per_s: rate,
    /** Points per second per caller, counted by the ingest routes. */
    points_per_s: rate,
    /** Burst allowed above the sustained rate, in seconds of it; default 1. */
    burst_s: rate,
  })
  .partial()
  .strict();

export type RateLimitsConfig = z.infer<typeof rateLimitsSchema>;

export function rateLimitOptions(config: RateLimitsConfig): RateLimitOptions {
  return defined({
    defaults: defined({ requestsPerS: config.requests_per_s, pointsPerS: config.points_per_s }),
    burstS: config.burst_s,
  });
}
