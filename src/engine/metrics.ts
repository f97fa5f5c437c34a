/**
 * The engine's own Prometheus metrics (docs/operations.md), on a registry handed in by the
 * caller. Every family is got-or-created, so a second engine (or a restart in tests) on the same
 * registry counts into the same families instead of failing to register them twice. Nothing here
 * is called per point: latency is observed per batch, events per event change, writes per commit.
 */
import type { Registry } from 'prom-client';
import {
  counter,
  histogram,
  ingestPointsCounter,
  type IngestResultLabel,
} from '../metrics/registry.js';
import type { EventChangeType, EventLevel } from '../core/events/types.js';

export interface EngineMetrics {
  /** Points offered by one batch of `source` (`vigil_ingest_points_total`), per result. */
  ingested(source: string, result: IngestResultLabel, points: number): void;
  /** Seconds from a batch being durable (spooled, or replayed) to its points being scored. */
  detectionLatency(seconds: number): void;
  /** One event change. */
  event(level: EventLevel, change: EventChangeType): void;
  /** Seconds one store commit took (successful or not). */
  storeWrite(seconds: number): void;
  /** A store commit that failed (it is retried). */
  storeWriteError(): void;
}

export function engineMetrics(registry: Registry): EngineMetrics {
  const latency = histogram(registry, {
    name: 'vigil_detection_latency_seconds',
    help: 'Time from a batch being durable to its points being scored (one sample per batch)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const events = counter(
    registry,
    'vigil_events_total',
    'Event changes, by level (alert, severe) and change (open, update, close, reopen)',
    ['level', 'change'],
  );
  const writes = histogram(registry, {
    name: 'vigil_store_write_seconds',
    help: 'Time one store commit of points took',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const errors = counter(
    registry,
    'vigil_store_write_errors_total',
    'Store commits of points that failed (each is retried)',
    [],
  );
  const ingest = ingestPointsCounter(registry);
  return {
    ingested: (protocol, result, points) => {
      if (points > 0) ingest.inc({ protocol, result }, points);
    },
    detectionLatency: (seconds) => latency.observe(seconds),
    event: (level, change) => events.inc({ level, change }),
    storeWrite: (seconds) => writes.observe(seconds),
    storeWriteError: () => errors.inc(),
  };
}
