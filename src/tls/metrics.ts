/**
 * The TLS metrics (docs/operations.md): reloads done and refused, and the served certificate's
 * end of validity as a Unix time, so an alert can fire days before clients start refusing it.
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { counter, gauge } from '../metrics/registry.js';

export interface TlsMetrics {
  readonly reloads: Counter;
  readonly reloadFailures: Counter;
  readonly expiry: Gauge;
}

export function tlsMetrics(registry: Registry): TlsMetrics {
  return {
    reloads: counter(
      registry,
      'vigil_tls_reloads_total',
      'Changed TLS certificate/key/CA files now served (HTTP and gRPC)',
      [],
    ),
    reloadFailures: counter(
      registry,
      'vigil_tls_reload_failures_total',
      'Changed TLS files refused (unreadable, not PEM, key not matching); the old set is still served',
      [],
    ),
    expiry: gauge(registry, {
      name: 'vigil_tls_certificate_expiry_seconds',
      help: 'End of validity of the served TLS certificate, Unix time in seconds',
    }),
  };
}
