/**
 * The alert sinks' Prometheus metrics, on the registry handed in from outside. Every series is
 * labelled by the sink's configured name (never its URL, which may hold credentials) and kind.
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { counter, gauge } from '../metrics/registry.js';

type SinkLabels = 'sink' | 'kind';

export interface AlertMetrics {
  /** Requests a receiver accepted (an Alertmanager POST, a webhook delivery). */
  readonly sent: Counter<SinkLabels>;
  /** Failed attempts (network error, timeout, non-2xx, rejected by the open breaker). */
  readonly failed: Counter<SinkLabels>;
  readonly queueDepth: Gauge<SinkLabels>;
  /** 0 closed, 1 open, 2 half-open. */
  readonly breakerState: Gauge<SinkLabels>;
  readonly deadLetters: Counter<SinkLabels | 'reason'>;
  /** Dead letters that could not even be stored (logged with their body). */
  readonly deadLetterWriteFailures: Counter<SinkLabels>;
  readonly incidents: Counter<'change'>;
}

export function alertMetrics(registry: Registry): AlertMetrics {
  const labelNames: SinkLabels[] = ['sink', 'kind'];
  return {
    sent: counter(
      registry,
      'vigil_alerts_sent_total',
      'Alert requests accepted by the receiver, by sink',
      labelNames,
    ),
    failed: counter(
      registry,
      'vigil_alerts_failed_total',
      'Failed alert attempts (error, timeout, non-2xx, open breaker), by sink',
      labelNames,
    ),
    queueDepth: gauge(registry, {
      name: 'vigil_alert_queue_depth',
      help: 'Alert deliveries waiting in the sink queue, the one in flight included',
      labelNames,
    }),
    breakerState: gauge(registry, {
      name: 'vigil_alert_breaker_state',
      help: 'Circuit breaker state per sink: 0 closed, 1 open, 2 half-open',
      labelNames,
    }),
    deadLetters: counter(
      registry,
      'vigil_alert_dead_letters_total',
      'Alert deliveries given up and dead-lettered, by sink and reason',
      [...labelNames, 'reason'],
    ),
    deadLetterWriteFailures: counter(
      registry,
      'vigil_alert_dead_letter_write_failures_total',
      'Dead letters that could not be stored (their body is in the log)',
      labelNames,
    ),
    incidents: counter(
      registry,
      'vigil_alert_incidents_total',
      'Incident changes handed to the alert sinks, by change',
      ['change'],
    ),
  };
}
