/**
 * The ground floor of Vigil's Prometheus metrics: every component (ingest adapters, the engine,
 * the server, alerting, model serving) registers its families on one registry handed in from
 * outside, through these get-or-create helpers, so two components (or a restarted one in tests)
 * can count into the same family without registering it twice. Imports nothing of Vigil's.
 */
import {
  Counter,
  Gauge,
  Histogram,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Registry,
} from 'prom-client';

/**
 * The registry's counter of that name, created on first use: from its name, help and label
 * names, or from a whole configuration (e.g. with a `collect` that fills it at scrape time).
 */
export function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L>;
export function counter<L extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<L>, 'registers'>,
): Counter<L>;
export function counter<L extends string>(
  registry: Registry,
  nameOrConfig: string | Omit<CounterConfiguration<L>, 'registers'>,
  help = '',
  labelNames: readonly L[] = [],
): Counter<L> {
  const config =
    typeof nameOrConfig === 'string' ? { name: nameOrConfig, help, labelNames } : nameOrConfig;
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter({ ...config, registers: [registry] });
}

/** The registry's histogram of that name, created on first use. */
export function histogram<L extends string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<L>, 'registers'>,
): Histogram<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Histogram) return existing as Histogram<L>;
  return new Histogram({ ...config, registers: [registry] });
}

/** The registry's gauge of that name, created on first use (a `collect` gauge is read at scrape). */
export function gauge<L extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<L>, 'registers'>,
): Gauge<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Gauge) return existing as Gauge<L>;
  return new Gauge({ ...config, registers: [registry] });
}

/** Label values of `vigil_ingest_points_total{result}`. */
export type IngestResultLabel = 'accepted' | 'rejected' | 'backpressure';

/**
 * Points offered to ingest, by `protocol` (`http`, `grpc`, `influx`, `remote_write`, `mqtt`,
 * `demo`) and `result`: `accepted`, `rejected` (a per-point error), `backpressure` (a refused
 * batch). The engine counts what reaches it, by the source its caller names; an adapter counts
 * only points it refuses itself before they reach the engine (a line that does not parse).
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
