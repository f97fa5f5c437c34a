/**
 * The alerting pipeline `vigil serve` runs: the engine's live feed → incident grouping → every
 * configured sink. Feed listeners run synchronously inside the engine, so this only groups and
 * hands over; the sinks deliver in the background.
 */
import type { Registry } from 'prom-client';
import type { EngineFeedItem } from '../engine/engine.js';
import type { DeadLetterStore, IncidentStore } from '../store/store.js';
import { AlertmanagerSink } from './alertmanager.js';
import type { AlertSettings } from './config.js';
import { IncidentGrouper, type IncidentChange } from './incident.js';
import { alertMetrics, type AlertMetrics } from './metrics.js';
import { errorText, type AcknowledgedIncident, type AlertSink } from './sink.js';
import { WebhookSink } from './webhook.js';

export interface AlertingOptions {
  readonly settings: AlertSettings;
  /** Needed when webhooks are configured. */
  readonly deadLetters?: DeadLetterStore;
  readonly registry: Registry;
  readonly log: (msg: string) => void;
}

export class Alerting {
  readonly grouper: IncidentGrouper;
  readonly sinks: readonly AlertSink[];
  readonly #metrics: AlertMetrics;
  readonly #log: (msg: string) => void;
  readonly #flushTimeoutMs: number;
  readonly #acknowledged = new Set<string>();
  readonly #resolvedByHand = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: AlertingOptions) {
    const { settings, log } = options;
    this.#metrics = alertMetrics(options.registry);
    this.#log = log;
    this.#flushTimeoutMs = settings.flushTimeoutMs;
    this.grouper = new IncidentGrouper(settings.groupingWindowMs);
    const sinks: AlertSink[] = [];
    if (settings.alertmanager !== undefined) {
      sinks.push(
        new AlertmanagerSink({
          ...settings.alertmanager,
          publicUrl: settings.publicUrl,
          metrics: this.#metrics,
          log,
        }),
      );
    }
    for (const w of settings.webhooks) {
      if (options.deadLetters === undefined) {
        throw new Error(`webhook ${w.name}: a dead-letter store is needed`);
      }
      sinks.push(
        new WebhookSink({
          ...w,
          publicUrl: settings.publicUrl,
          deadLetters: options.deadLetters,
          metrics: this.#metrics,
          log,
        }),
      );
    }
    this.sinks = sinks;
  }

  /** Follow an engine's live feed (nothing to do without sinks). */
  attach(engine: { subscribe(listener: (item: EngineFeedItem) => void): () => void }): void {
    if (this.sinks.length === 0 || this.#unsubscribe !== undefined) return;
    this.#unsubscribe = engine.subscribe((item) => this.handle(item));
  }

  /** One feed item; scores are ignored. Returns the incident change, if any. */
  handle(item: EngineFeedItem): IncidentChange | undefined {
    if (item.type !== 'event' || this.#closed !== undefined) return undefined;
    const change = this.grouper.apply(item);
    this.notify(change);
    return change;
  }

  /**
   * One incident change grouped elsewhere (the durable feed, src/incidents), to every sink. An
   * acknowledged incident's updates are not re-sent to webhooks; its resolve and a reopen are.
   */
  notify(change: IncidentChange): void {
    if (this.#closed !== undefined) return;
    this.#metrics.incidents.inc({ change: change.type });
    const id = change.incident.id;
    // Resolved by hand: its updates go nowhere until it resolves or fires afresh.
    if (change.type === 'update' && this.#resolvedByHand.has(id)) return;
    if (change.type !== 'update') {
      this.#acknowledged.delete(id);
      this.#resolvedByHand.delete(id);
    }
    const silenced = this.#acknowledged.has(id);
    for (const sink of this.sinks) {
      if (silenced && sink.kind === 'webhook') continue;
      try {
        sink.notify(change);
      } catch (error) {
        this.#log(`alert sink ${sink.name}: ${errorText(error)}`);
      }
    }
  }

  /**
   * A person resolved an incident: Alertmanager alerts end now (and their silences expire);
   * further updates of it are sent nowhere until its events close or it fires afresh.
   */
  resolveByHand(incidentId: string): void {
    if (this.#closed !== undefined) return;
    this.#resolvedByHand.add(incidentId);
    this.#acknowledged.delete(incidentId);
    for (const sink of this.sinks) {
      try {
        sink.resolve?.(incidentId);
      } catch (error) {
        this.#log(`alert sink ${sink.name}: ${errorText(error)}`);
      }
    }
  }

  /** After a restart: the incidents acknowledged before it stay silenced. */
  async restoreAcknowledged(incidents: Pick<IncidentStore, 'list'>): Promise<void> {
    if (this.sinks.length === 0) return;
    const page = await incidents.list({ state: 'acknowledged', limit: 10_000 });
    for (const i of page.items) this.#acknowledged.add(i.id);
  }

  /**
   * A person acknowledged an incident: its further updates are not re-sent to webhooks, and
   * each Alertmanager sink silences its alert (API v2 silences) when configured to.
   */
  acknowledge(incident: AcknowledgedIncident): void {
    if (this.#closed !== undefined) return;
    this.#acknowledged.add(incident.id);
    for (const sink of this.sinks) {
      try {
        sink.acknowledge?.(incident);
      } catch (error) {
        this.#log(`alert sink ${sink.name}: ${errorText(error)}`);
      }
    }
  }

  /** Stop following the feed, then let every sink flush (bounded by `flush_timeout_ms`). */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unsubscribe?.();
      await Promise.all(this.sinks.map((s) => s.close(this.#flushTimeoutMs)));
    })();
    return this.#closed;
  }
}
