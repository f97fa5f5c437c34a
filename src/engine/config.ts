/**
 * The `engine` section of `vigil serve`'s config file (docs/operations.md): its schema, and its
 * translation into engine options. `workers` defaults to `defaultWorkers()` here, not in the
 * engine, whose own default (0) suits tests and tools.
 */
import { z } from 'zod';
import { defined } from '../data/defined.js';
import { defaultWorkers, type EngineOptions } from './create-engine.js';

export const engineSchema = z
  .object({
    // Values (metrics of points) accepted and not yet stored and scored.
    queue_limit: z.number().int().positive(),
    queue_bytes_limit: z.number().int().positive(),
    max_series_per_device: z.number().int().positive(),
    max_series: z.number().int().positive(),
    checkpoint_every_ms: z.number().int().min(0),
    // Drop series idle this long (event time) from memory; 0 = never (docs/engine.md).
    idle_evict_after_ms: z.number().int().min(0),
    // Above this many checkpointed series, restore each on its next point; 0 = always lazily
    // (docs/engine.md, "Lazy restore").
    lazy_restore_above: z.number().int().min(0),
    // Scoring worker threads; 0 = score on the main thread (docs/engine.md).
    workers: z.number().int().min(0).max(64),
  })
  .partial()
  .strict();

export type EngineConfig = z.infer<typeof engineSchema>;

export function engineOptions(
  config: EngineConfig,
): Pick<
  EngineOptions,
  | 'workers'
  | 'queueLimit'
  | 'queueBytesLimit'
  | 'maxSeriesPerDevice'
  | 'maxSeries'
  | 'checkpointEveryMs'
  | 'idleEvictAfterMs'
  | 'lazyRestoreAbove'
> {
  return defined({
    workers: config.workers ?? defaultWorkers(),
    queueLimit: config.queue_limit,
    queueBytesLimit: config.queue_bytes_limit,
    maxSeriesPerDevice: config.max_series_per_device,
    maxSeries: config.max_series,
    checkpointEveryMs: config.checkpoint_every_ms,
    idleEvictAfterMs: config.idle_evict_after_ms,
    lazyRestoreAbove: config.lazy_restore_above,
  });
}
