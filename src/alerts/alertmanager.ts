/**
 * Alertmanager sink: one Alertmanager alert per incident, posted to the v2 API
 * (`POST <url>/api/v2/alerts`, a JSON array) of every configured Alertmanager, as Prometheus
 * does. The sink keeps the desired state — every firing incident, every resolve not yet
 * delivered — and each POST carries that state as it is when the POST starts, one POST at a
 * time per Alertmanager, so a resolve can never be overtaken by an older "firing".
 * Mapping and timing: docs/alerts.md ("Alertmanager").
 */
import { Backoff, RETRY_DEFAULTS, seedOf } from './backoff.js';
import {
  bandOf,
  describeEvent,
  eventLink,
  formatNumber,
  incidentLink,
  observedOf,
  summarize,
} from './describe.js';
import type { Incident, IncidentChange } from './incident.js';
import { incidentMetrics, strongestMember } from './incident.js';
import type { AlertMetrics } from './metrics.js';
import { errorText, type AcknowledgedIncident, type AlertSink } from './sink.js';

/** The alert as the v2 API takes it (`postableAlert`). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL: string;
}

export interface AlertmanagerSinkOptions {
  readonly name: string;
  /** Alertmanager base URLs (`http://am:9093`); every alert goes to all of them. */
  readonly urls: readonly string[];
  /** Re-send every firing alert this often, ms. */
  readonly resendIntervalMs: number;
  /** Per request, ms. */
  readonly timeoutMs: number;
  /** The `alertname` label. */
  readonly alertname: string;
  /** Extra labels on every alert (e.g. `team`), for routing. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Base of dashboard links. */
  readonly publicUrl: string;
  readonly metrics: AlertMetrics;
  readonly log: (msg: string) => void;
  /**
   * On acknowledgement, silence the incident's alert for this long (ms) through the v2 API
   * (`POST /api/v2/silences`, matcher `incident="<id>"`); 0: never.
   */
  readonly silenceOnAckMs?: number;
  /** Wall clock, ms. */
  readonly now?: () => number;
}

/** Firing alerts carry `endsAt = now + this × resend interval`, as Prometheus does. */
export const ENDS_AT_RESENDS = 4;
/** Most alerts in one POST. */
const BATCH = 500;

interface Firing {
  readonly key: string;
  readonly alert: PostableAlert;
}
interface Resolved {
  readonly alert: PostableAlert;
  /** Alertmanagers that have not yet accepted this resolve. */
  readonly pending: Set<string>;
  /** After this (wall ms) Alertmanager has resolved it on its own: stop sending. */
  readonly expires: number;
}
interface Target {
  readonly url: string;
  readonly endpoint: string;
  dirty: boolean;
  running: Promise<void> | undefined;
  retry: NodeJS.Timeout | undefined;
  failures: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The Alertmanager alert of an incident (without `endsAt`: that depends on when it is sent). */
export function incidentAlert(
  incident: Incident,
  options: Pick<AlertmanagerSinkOptions, 'alertname' | 'labels' | 'publicUrl'>,
  nowMs: number,
): PostableAlert {
  const primary = incident.members[0]!;
  const strongest = strongestMember(incident);
  const labels: Record<string, string> = {
    ...options.labels,
    alertname: options.alertname,
    device: incident.device,
    strategy: primary.event.strategy,
    severity: incident.level,
    incident: incident.id,
  };
  if (primary.metric !== null) labels.metric = primary.metric;
  const annotations: Record<string, string> = {
    summary: summarize(incident),
    description: incident.members.map(describeEvent).join('\n'),
    metrics: incidentMetrics(incident).join(','),
    score: formatNumber(strongest.event.peak.score),
    // The incident's page: what is firing, who acknowledged it; `event`: the strongest event.
    dashboard: incidentLink(options.publicUrl, incident.id),
    event: eventLink(options.publicUrl, strongest.event.id),
    events: incident.members.map((m) => m.event.id).join('\n'),
  };
  const observed = observedOf(strongest.event);
  if (observed !== undefined) annotations.observed = formatNumber(observed);
  const expected = strongest.event.explanation?.metrics[0]?.expected;
  if (expected !== undefined) annotations.expected = formatNumber(expected);
  const band = bandOf(strongest.event);
  if (band !== undefined) {
    annotations.expected_band = `${formatNumber(band[0])} … ${formatNumber(band[1])}`;
  }
  return {
    labels,
    annotations,
    // Event time, but never in the future: a device clock running ahead would otherwise give
    // startsAt > endsAt, which Alertmanager refuses (with the whole batch).
    startsAt: iso(Math.min(incident.first, nowMs)),
    generatorURL: incidentLink(options.publicUrl, incident.id),
  };
}

export class AlertmanagerSink implements AlertSink {
  readonly kind = 'alertmanager' as const;
  readonly name: string;
  readonly #o: AlertmanagerSinkOptions;
  readonly #now: () => number;
  readonly #firing = new Map<string, Firing>();
  readonly #resolved = new Map<string, Resolved>();
  readonly #targets: Target[];
  readonly #timer: NodeJS.Timeout;
  readonly #abort = new AbortController();
  readonly #backoff: Backoff;
  #closed = false;

  constructor(options: AlertmanagerSinkOptions) {
    this.#o = options;
    this.name = options.name;
    this.#now = options.now ?? Date.now;
    this.#backoff = new Backoff(
      { ...RETRY_DEFAULTS, initialMs: 1000, maxMs: options.resendIntervalMs },
      seedOf(options.name),
    );
    this.#targets = options.urls.map((url) => ({
      url,
      endpoint: `${url.replace(/\/+$/, '')}/api/v2/alerts`,
      dirty: false,
      running: undefined,
      retry: undefined,
      failures: 0,
    }));
    this.#timer = setInterval(() => this.#resend(), options.resendIntervalMs);
    this.#timer.unref();
  }

  /** Firing incidents held (for tests and metrics). */
  get firing(): number {
    return this.#firing.size;
  }

  notify(change: IncidentChange): void {
    if (this.#closed) return;
    const now = this.#now();
    const { incident } = change;
    const alert = incidentAlert(incident, this.#o, now);
    const key = labelKey(alert.labels);
    const before = this.#firing.get(incident.id);
    // A changed label set (severity upgrade) is another alert for Alertmanager: end the old one.
    if (before !== undefined && before.key !== key) this.#resolve(before.key, before.alert, now);
    if (incident.status === 'firing') {
      this.#resolved.delete(key);
      this.#firing.set(incident.id, { key, alert });
    } else {
      this.#firing.delete(incident.id);
      this.#expireSilences(incident.id);
      const end = Math.max(Date.parse(alert.startsAt), Math.min(incident.end ?? now, now));
      this.#resolve(key, alert, end);
    }
    this.#markAll();
  }

  #resolve(key: string, alert: PostableAlert, endMs: number): void {
    this.#resolved.set(key, {
      alert: { ...alert, endsAt: iso(endMs) },
      pending: new Set(this.#targets.map((t) => t.url)),
      expires: this.#now() + ENDS_AT_RESENDS * this.#o.resendIntervalMs,
    });
  }

  #resend(): void {
    const now = this.#now();
    for (const [key, r] of this.#resolved) if (r.expires <= now) this.#resolved.delete(key);
    if (this.#firing.size > 0 || this.#resolved.size > 0) this.#markAll();
  }

  #markAll(): void {
    for (const target of this.#targets) {
      target.dirty = true;
      this.#kick(target);
    }
  }

  #kick(target: Target): void {
    if (target.running !== undefined || target.retry !== undefined) return;
    target.running = this.#drain(target).finally(() => {
      target.running = undefined;
    });
  }

  async #drain(target: Target): Promise<void> {
    while (target.dirty && !this.#abort.signal.aborted) {
      target.dirty = false;
      const endsAt = iso(this.#now() + ENDS_AT_RESENDS * this.#o.resendIntervalMs);
      const alerts: PostableAlert[] = [...this.#firing.values()].map((f) => ({
        ...f.alert,
        endsAt,
      }));
      const resolved = [...this.#resolved.values()].filter((r) => r.pending.has(target.url));
      alerts.push(...resolved.map((r) => r.alert));
      try {
        for (let i = 0; i < alerts.length; i += BATCH) {
          await this.#post(target, alerts.slice(i, i + BATCH));
        }
        for (const r of resolved) r.pending.delete(target.url);
        for (const [key, r] of this.#resolved) if (r.pending.size === 0) this.#resolved.delete(key);
        if (alerts.length > 0) this.#o.metrics.sent.inc({ sink: this.name, kind: this.kind });
        target.failures = 0;
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.#o.metrics.failed.inc({ sink: this.name, kind: this.kind });
        target.failures++;
        const delay = this.#backoff.next(target.failures);
        this.#o.log(
          `alertmanager ${this.name} (${target.url}): ${errorText(error)}; retrying in ${delay} ms`,
        );
        target.dirty = true;
        target.retry = setTimeout(() => {
          target.retry = undefined;
          this.#kick(target);
        }, delay);
        return;
      }
    }
  }

  async #post(target: Target, alerts: readonly PostableAlert[]): Promise<void> {
    const response = await fetch(target.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'vigil-alerts/1' },
      body: JSON.stringify(alerts),
      signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#abort.signal]),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}: ${text.slice(0, 300).trim()}`);
    }
  }

  /** Silences posted and not yet answered (for close and tests). */
  readonly #silences = new Set<Promise<void>>();
  /** Silences made on acknowledgement, per incident: expired when it resolves. */
  readonly #silenceIds = new Map<string, { url: string; id: string }[]>();

  acknowledge(incident: AcknowledgedIncident): void {
    const duration = this.#o.silenceOnAckMs ?? 0;
    if (this.#closed || duration <= 0) return;
    const now = this.#now();
    const silence = {
      matchers: [{ name: 'incident', value: incident.id, isRegex: false, isEqual: true }],
      startsAt: iso(now),
      endsAt: iso(now + duration),
      createdBy: incident.by ?? 'vigil',
      comment: `acknowledged in Vigil: ${incidentLink(this.#o.publicUrl, incident.id)}`,
    };
    for (const target of this.#targets) {
      const url = `${target.url.replace(/\/+$/, '')}/api/v2/silences`;
      const post = this.#postSilence(url, silence).then(
        (id) => {
          const ids = this.#silenceIds.get(incident.id) ?? [];
          ids.push({ url: target.url.replace(/\/+$/, ''), id });
          this.#silenceIds.set(incident.id, ids);
        },
        (error: unknown) => {
          this.#o.metrics.failed.inc({ sink: this.name, kind: this.kind });
          this.#o.log(
            `alertmanager ${this.name} (${target.url}): silencing incident ${incident.id} failed: ${errorText(error)}`,
          );
        },
      );
      this.#silences.add(post);
      void post.finally(() => this.#silences.delete(post));
    }
  }

  /** Resolves once every silence asked for so far is answered. */
  async silenced(): Promise<void> {
    await Promise.all(this.#silences);
  }

  /** The silence's id, as Alertmanager answers it. */
  async #postSilence(url: string, silence: unknown): Promise<string> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'vigil-alerts/1' },
      body: JSON.stringify(silence),
      signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#abort.signal]),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300).trim()}`);
    return String((JSON.parse(text) as { silenceID?: unknown }).silenceID ?? '');
  }

  /** A resolved incident's silences are expired: firing again, it notifies again. */
  #expireSilences(incidentId: string): void {
    const ids = this.#silenceIds.get(incidentId);
    if (ids === undefined) return;
    this.#silenceIds.delete(incidentId);
    for (const { url, id } of ids) {
      if (id === '') continue;
      const expire = fetch(`${url}/api/v2/silence/${encodeURIComponent(id)}`, {
        method: 'DELETE',
        headers: { 'user-agent': 'vigil-alerts/1' },
        signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#abort.signal]),
      }).then(async (response) => {
        await response.text();
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
      });
      const tracked = expire.catch((error: unknown) => {
        this.#o.log(
          `alertmanager ${this.name} (${url}): expiring silence ${id} failed: ${errorText(error)}`,
        );
      });
      this.#silences.add(tracked);
      void tracked.finally(() => this.#silences.delete(tracked));
    }
  }

  /** Resolved by a person: the alert ends now and is no longer re-sent. */
  resolve(incidentId: string): void {
    if (this.#closed) return;
    this.#expireSilences(incidentId);
    const firing = this.#firing.get(incidentId);
    if (firing === undefined) return;
    this.#firing.delete(incidentId);
    this.#resolve(
      firing.key,
      firing.alert,
      Math.max(Date.parse(firing.alert.startsAt), this.#now()),
    );
    this.#markAll();
  }

  async close(flushTimeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    // One last try for what is pending (resolves above all), pending retries included.
    for (const target of this.#targets) {
      if (target.retry !== undefined) {
        clearTimeout(target.retry);
        target.retry = undefined;
      }
      if (target.dirty) this.#kick(target);
    }
    const drained = Promise.all(this.#targets.map((t) => t.running));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, flushTimeoutMs);
    });
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
    this.#abort.abort();
    await drained;
    for (const target of this.#targets) {
      if (target.retry !== undefined) clearTimeout(target.retry);
    }
  }
}
