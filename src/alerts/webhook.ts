/**
 * Webhook sink: each incident change is one signed JSON POST (signature.ts, webhook-body.ts),
 * delivered in order by one worker per sink from a bounded queue, retried with exponential
 * backoff and seeded jitter, behind a per-sink circuit breaker. A delivery that cannot be made —
 * retries exhausted, refused by the receiver (4xx), queue full, or still pending at shutdown — is
 * written to the dead-letter store and counted; nothing is dropped silently. docs/alerts.md.
 */
import type { DeadLetterReason, DeadLetterStore, JsonValue } from '../store/store.js';
import { Backoff, type RetryPolicy } from './backoff.js';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './circuit-breaker.js';
import type { IncidentChange } from './incident.js';
import type { AlertMetrics } from './metrics.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './signature.js';
import { errorText, type AlertSink } from './sink.js';
import { deliveryId, webhookBody } from './webhook-body.js';
import { sleep } from '../timing/sleep.js';

export interface WebhookSinkOptions {
  readonly name: string;
  readonly url: string;
  /** HMAC-SHA256 key of the signature header. */
  readonly secret: string;
  /** Per attempt, ms. */
  readonly timeoutMs: number;
  /** Deliveries that may wait (the one in flight not counted); beyond, dead-lettered. */
  readonly queueSize: number;
  readonly retry: RetryPolicy;
  readonly breaker: Partial<BreakerOptions>;
  /** Jitter seed; default derived from the name. */
  readonly seed?: number;
  readonly publicUrl: string;
  readonly deadLetters: DeadLetterStore;
  readonly metrics: AlertMetrics;
  readonly log: (msg: string) => void;
  /** Wall clock, ms (signature timestamps and the breaker). */
  readonly now?: () => number;
}

interface Delivery {
  readonly id: string;
  readonly incidentId: string;
  readonly change: string;
  readonly payload: JsonValue;
  readonly body: string;
  attempts: number;
  lastError: string | null;
}

type Outcome =
  | { readonly kind: 'sent' }
  | { readonly kind: 'retry'; readonly error: string; readonly retryAfterMs: number }
  | { readonly kind: 'rejected'; readonly error: string };

const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 };

/** `Retry-After` in seconds or as an HTTP date, as ms; 0 when absent or unreadable. */
function retryAfterMs(header: string | null, nowMs: number): number {
  if (header === null) return 0;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : 0;
}

export class WebhookSink implements AlertSink {
  readonly kind = 'webhook' as const;
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly #o: WebhookSinkOptions;
  readonly #now: () => number;
  readonly #backoff: Backoff;
  readonly #queue: Delivery[] = [];
  readonly #labels: { sink: string; kind: 'webhook' };
  readonly #writes = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #inFlight = false;
  #worker: Promise<void> | undefined;
  #closing = false;

  constructor(options: WebhookSinkOptions) {
    this.#o = options;
    this.name = options.name;
    this.#now = options.now ?? Date.now;
    this.breaker = new CircuitBreaker(options.breaker, this.#now);
    this.#backoff = new Backoff(options.retry, options.seed ?? 0);
    this.#labels = { sink: options.name, kind: 'webhook' };
    this.#gauges();
  }

  /** Deliveries waiting or in flight. */
  get depth(): number {
    return this.#queue.length + (this.#inFlight ? 1 : 0);
  }

  notify(change: IncidentChange): void {
    const id = deliveryId(this.name, change);
    const payload = webhookBody(this.name, id, change, this.#o.publicUrl);
    const delivery: Delivery = {
      id,
      incidentId: change.incident.id,
      change: change.type,
      payload,
      body: JSON.stringify(payload),
      attempts: 0,
      lastError: null,
    };
    if (this.#closing) {
      this.#track(this.#deadLetter(delivery, 'shutdown'));
      return;
    }
    if (this.#queue.length >= this.#o.queueSize) {
      delivery.lastError = `queue full (${this.#o.queueSize} deliveries waiting)`;
      this.#track(this.#deadLetter(delivery, 'queue_full'));
      return;
    }
    this.#queue.push(delivery);
    this.#gauges();
    this.#worker ??= this.#work().finally(() => {
      this.#worker = undefined;
    });
  }

  /** Resolves when the queue is empty and nothing is in flight (for tests). */
  async idle(): Promise<void> {
    while (this.#worker !== undefined || this.#writes.size > 0) {
      await this.#worker;
      await Promise.all(this.#writes);
    }
  }

  async #work(): Promise<void> {
    for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
      this.#inFlight = true;
      this.#gauges();
      await this.#deliver(next);
      this.#inFlight = false;
      this.#gauges();
    }
  }

  async #deliver(d: Delivery): Promise<void> {
    const { retry } = this.#o;
    for (;;) {
      if (this.#abort.signal.aborted) return this.#deadLetter(d, 'shutdown');
      const outcome = await this.#attempt(d);
      this.#gauges();
      if (outcome.kind === 'sent') {
        this.#o.metrics.sent.inc(this.#labels);
        return;
      }
      this.#o.metrics.failed.inc(this.#labels);
      d.lastError = outcome.error;
      if (this.#abort.signal.aborted) return this.#deadLetter(d, 'shutdown');
      if (outcome.kind === 'rejected') return this.#deadLetter(d, 'rejected');
      if (d.attempts >= retry.maxAttempts) return this.#deadLetter(d, 'retries_exhausted');
      // Ends early when the sink gives up at shutdown.
      await sleep(this.#backoff.next(d.attempts, outcome.retryAfterMs), this.#abort.signal);
    }
  }

  async #attempt(d: Delivery): Promise<Outcome> {
    d.attempts++;
    // Rejected fast: no request while the breaker is open, but the attempt counts.
    if (!this.breaker.tryAcquire()) {
      return { kind: 'retry', error: 'circuit breaker open', retryAfterMs: 0 };
    }
    const timestamp = Math.floor(this.#now() / 1000);
    try {
      const response = await fetch(this.#o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'vigil-alerts/1',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: sign(this.#o.secret, timestamp, d.body),
          [DELIVERY_HEADER]: d.id,
          'x-vigil-change': d.change,
        },
        body: d.body,
        signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#abort.signal]),
      });
      const text = await response.text().catch(() => '');
      if (response.ok) {
        this.breaker.record(true);
        return { kind: 'sent' };
      }
      const error = `HTTP ${response.status}${text ? `: ${text.slice(0, 300).trim()}` : ''}`;
      const status = response.status;
      // A 4xx other than timeout / rate limit will not change on retry; the receiver is up.
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        this.breaker.record(true);
        return { kind: 'rejected', error };
      }
      this.breaker.record(false);
      return {
        kind: 'retry',
        error,
        retryAfterMs: retryAfterMs(response.headers.get('retry-after'), this.#now()),
      };
    } catch (error) {
      this.breaker.record(false);
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return {
        kind: 'retry',
        error: timedOut ? `no answer within ${this.#o.timeoutMs} ms` : errorText(error),
        retryAfterMs: 0,
      };
    }
  }

  async #deadLetter(d: Delivery, reason: DeadLetterReason): Promise<void> {
    this.#o.metrics.deadLetters.inc({ ...this.#labels, reason });
    try {
      await this.#o.deadLetters.save({
        sink: this.name,
        deliveryId: d.id,
        incidentId: d.incidentId,
        reason,
        attempts: d.attempts,
        lastError: d.lastError,
        payload: d.payload,
      });
      this.#o.log(
        `webhook ${this.name}: delivery ${d.id} (incident ${d.incidentId}) dead-lettered: ` +
          `${reason}${d.lastError === null ? '' : ` (${d.lastError})`}`,
      );
    } catch (error) {
      this.#o.metrics.deadLetterWriteFailures.inc(this.#labels);
      this.#o.log(
        `webhook ${this.name}: dead letter for delivery ${d.id} could not be stored ` +
          `(${errorText(error)}); body: ${d.body}`,
      );
    }
  }

  #track(write: Promise<void>): void {
    this.#writes.add(write);
    void write.finally(() => this.#writes.delete(write));
  }

  #gauges(): void {
    this.#o.metrics.queueDepth.set(this.#labels, this.depth);
    this.#o.metrics.breakerState.set(this.#labels, BREAKER_GAUGE[this.breaker.state]);
  }

  async close(flushTimeoutMs: number): Promise<void> {
    if (this.#closing) return this.idle();
    this.#closing = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, flushTimeoutMs);
    });
    await Promise.race([this.idle(), deadline]);
    clearTimeout(timer);
    // Out of time: stop the request in flight and any backoff; the worker then dead-letters
    // everything left (reason `shutdown`).
    this.#abort.abort();
    await this.idle();
  }
}
