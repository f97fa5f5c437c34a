/**
 * The alert sinks' Prometheus metrics, on the registry handed in from outside. Every series is
 * labelled by the sink's configured name (never its URL, which may hold credentials) and kind.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

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

function getOr<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function alertMetrics(registry: Registry): AlertMetrics {
  const registers = [registry];
  const labelNames: SinkLabels[] = ['sink', 'kind'];
  return {
    sent: getOr(
      registry,
      'vigil_alerts_sent_total',
      () =>
        new Counter({
          name: 'vigil_alerts_sent_total',
          help: 'Alert requests accepted by the receiver, by sink',
          labelNames,
          registers,
        }),
    ),
    failed: getOr(
      registry,
      'vigil_alerts_failed_total',
      () =>
        new Counter({
          name: 'vigil_alerts_failed_total',
          help: 'Failed alert attempts (error, timeout, non-2xx, open breaker), by sink',
          labelNames,
          registers,
        }),
    ),
    queueDepth: getOr(
      registry,
      'vigil_alert_queue_depth',
      () =>
        new Gauge({
          name: 'vigil_alert_queue_depth',
          help: 'Alert deliveries waiting in the sink queue, the one in flight included',
          labelNames,
          registers,
        }),
    ),
    breakerState: getOr(
      registry,
      'vigil_alert_breaker_state',
      () =>
        new Gauge({
          name: 'vigil_alert_breaker_state',
          help: 'Circuit breaker state per sink: 0 closed, 1 open, 2 half-open',
          labelNames,
          registers,
        }),
    ),
    deadLetters: getOr(
      registry,
      'vigil_alert_dead_letters_total',
      () =>
        new Counter({
          name: 'vigil_alert_dead_letters_total',
          help: 'Alert deliveries given up and dead-lettered, by sink and reason',
          labelNames: [...labelNames, 'reason'],
          registers,
        }),
    ),
    deadLetterWriteFailures: getOr(
      registry,
      'vigil_alert_dead_letter_write_failures_total',
      () =>
        new Counter({
          name: 'vigil_alert_dead_letter_write_failures_total',
          help: 'Dead letters that could not be stored (their body is in the log)',
          labelNames,
          registers,
        }),
    ),
    incidents: getOr(
      registry,
      'vigil_alert_incidents_total',
      () =>
        new Counter({
          name: 'vigil_alert_incidents_total',
          help: 'Incident changes handed to the alert sinks, by change',
          labelNames: ['change'],
          registers,
        }),
    ),
  };
}
