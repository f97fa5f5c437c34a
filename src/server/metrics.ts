/**
 * The server's own Prometheus metrics. They live on the registry handed in from outside, which
 * the engine and the gRPC server share; getting-or-creating lets several components count into
 * one family (e.g. points by protocol) without registering it twice.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The registry's counter of that name, created on first use (several servers may share one). */
export function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * Points offered by ingest adapters, by `protocol` (`http`, `grpc`, …) and `result`
 * (`accepted`, `rejected` for a per-point error, `backpressure` for a refused batch).
 */
export function ingestPointsCounter(registry: Registry): Counter<'protocol' | 'result'> {
  return counter(
    registry,
    'vigil_ingest_points_total',
    'Points offered to ingest, by protocol and result',
    ['protocol', 'result'],
  );
}

/** Strategy changes not made active (failed health check, invalid file, stale version), by name. */
export function strategyReloadFailuresCounter(registry: Registry): Counter<'strategy'> {
  return counter(
    registry,
    'vigil_strategy_reload_failures_total',
    'Strategy changes not made active (health check failed, invalid, or not newer), by strategy',
    ['strategy'],
  );
}

export interface HttpMetrics {
  readonly ingestPoints: Counter<'protocol' | 'result'>;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly sseClients: { inc(): void; dec(): void };
  readonly sseDropped: Counter<string>;
}

export function httpMetrics(registry: Registry): HttpMetrics {
  const existingDuration = registry.getSingleMetric('vigil_http_request_duration_seconds');
  const duration =
    existingDuration instanceof Histogram
      ? (existingDuration as Histogram<'method' | 'route'>)
      : new Histogram({
          name: 'vigil_http_request_duration_seconds',
          help: 'HTTP request latency, from request received to response sent',
          labelNames: ['method', 'route'],
          buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
          registers: [registry],
        });
  const existingGauge = registry.getSingleMetric('vigil_sse_clients');
  const sseClients =
    existingGauge instanceof Gauge
      ? existingGauge
      : new Gauge({
          name: 'vigil_sse_clients',
          help: 'Clients connected to the live stream (/v1/stream)',
          registers: [registry],
        });
  return {
    ingestPoints: ingestPointsCounter(registry),
    requests: counter(
      registry,
      'vigil_http_requests_total',
      'HTTP requests answered, by method, route pattern and status code',
      ['method', 'route', 'status'],
    ),
    duration,
    sseClients: { inc: () => sseClients.inc(), dec: () => sseClients.dec() },
    sseDropped: counter(
      registry,
      'vigil_sse_dropped_total',
      'Score messages not sent to a live-stream client whose connection could not keep up',
      [],
    ),
  };
}

/**
 * Remove gauges named `*_total`: prom-client's defaults include `nodejs_active_*_total` gauges,
 * which `promtool check metrics` refuses (`_total` is for counters). Their by-type companions
 * (`nodejs_active_handles` etc.) hold the same numbers.
 */
export function removeTotalGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Gauge && metric.name.endsWith('_total')) {
      registry.removeSingleMetric(metric.name);
    }
  }
}
