/**
 * The engine's own Prometheus metrics (docs/operations.md), on a registry handed in by the
 * caller. Every family is got-or-created, so a second engine (or a restart in tests) on the same
 * registry counts into the same families instead of failing to register them twice. Nothing here
 * is called per point: latency is observed per batch, events per event change, writes per commit.
 */
import type { Registry } from 'prom-client';
import {
  counter,
  gauge,
  histogram,
  ingestPointsCounter,
  type IngestResultLabel,
} from '../metrics/registry.js';
import type { EventChangeType, EventLevel } from '../core/events/types.js';
import type { CapReason } from './known-series.js';

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
  /** Point rows the database refused, set aside in the store's dead letters. */
  storeRejectedRows(rows: number): void;
  /** Points of one batch refused (replayed: not scored) because a new series would pass a cap. */
  seriesRefused(reason: CapReason, points: number): void;
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
  const rejected = counter(
    registry,
    'vigil_store_rejected_rows_total',
    'Point rows the database refused (a data exception), kept in point_dead_letters',
    [],
  );
  const refused = counter(
    registry,
    'vigil_series_refused_total',
    'Points refused (replayed: stored, not scored) because a new series would pass a cap, by cap (device, total)',
    ['reason'],
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
    storeRejectedRows: (rows) => rejected.inc(rows),
    seriesRefused: (reason, points) => {
      if (points > 0) refused.inc({ reason }, points);
    },
  };
}

/** What the engine's gauges read at scrape time. */
export interface EngineGaugeSources {
  /** Values (metrics of points) accepted and not yet stored and scored. */
  queued(): number;
  /** Bytes of store rows accepted and not yet stored. */
  queuedBytes(): number;
  /** Series the engine holds state for. */
  series(): number;
  /** Wall clock (ms) of the last checkpoint, null before the first. */
  lastCheckpointWallMs(): number | null;
  /** Bytes the durable log holds. */
  logBytes(): number;
}

/** The engine whose numbers each registry's gauges report: the latest created on it. */
const gaugeSources = new WeakMap<Registry, EngineGaugeSources>();

/**
 * Register the engine's gauges (read at scrape). A family already registered under the same
 * name (by another engine on this registry, or by the caller) is kept; ours then reads the
 * latest engine.
 */
export function engineGauges(registry: Registry, sources: EngineGaugeSources): void {
  gaugeSources.set(registry, sources);
  const read = (name: string, help: string, value: (s: EngineGaugeSources) => number | null) =>
    gauge(registry, {
      name,
      help,
      collect() {
        const current = gaugeSources.get(registry);
        const v = current === undefined ? null : value(current);
        if (v !== null) this.set(v);
      },
    });
  read(
    'vigil_engine_queued_points',
    'Values (metrics of points) accepted and not yet stored and scored',
    (s) => s.queued(),
  );
  read('vigil_engine_queued_bytes', 'Bytes of store rows accepted and not yet stored', (s) =>
    s.queuedBytes(),
  );
  read('vigil_engine_series', 'Series the engine holds state for', (s) => s.series());
  read(
    'vigil_checkpoint_age_seconds',
    'Seconds since the last checkpoint of detector state',
    (s) => {
      const last = s.lastCheckpointWallMs();
      return last === null ? null : (Date.now() - last) / 1000;
    },
  );
  read('vigil_log_bytes', 'Bytes the durable log (the spool) holds, not yet trimmed', (s) =>
    s.logBytes(),
  );
}
