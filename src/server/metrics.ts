/** The HTTP server's own Prometheus metrics, on the shared registry (src/metrics). */
import type { Counter, Histogram, Registry } from 'prom-client';
import { counter, gauge, histogram } from '../metrics/registry.js';

export interface HttpMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly sseClients: { inc(): void; dec(): void };
  readonly sseDropped: Counter<string>;
}

export function httpMetrics(registry: Registry): HttpMetrics {
  const duration = histogram<'method' | 'route'>(registry, {
    name: 'vigil_http_request_duration_seconds',
    help: 'HTTP request latency, from request received to response sent',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });
  const sseClients = gauge(registry, {
    name: 'vigil_sse_clients',
    help: 'Clients connected to the live stream (/v1/stream)',
  });
  return {
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
