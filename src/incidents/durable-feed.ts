/**
 * The engine's live feed, re-issued only once what it names is stored: every event change is
 * grouped into its incident, and the event and the incident are written (one upsert per batch,
 * committed) before the item reaches any listener — the SSE stream, the dashboard, the alert
 * sinks. So a link in an alert or on the live page resolves the moment it is seen. Items keep
 * the engine's order; a score waits only while an event written before it is being stored.
 *
 * The engine still writes its events at its own store commits (engine/event-writer.ts): the
 * same rows, so both writes agree, and a write that fails here (a store outage) is logged and
 * the items are let through — an alert late for want of a database is worse than one whose link
 * resolves a little later. docs/alerts.md, "Readable when alerted".
 */
import type { IncidentChange, IncidentGrouper } from '../alerts/incident.js';
import { incidentMetrics } from '../alerts/incident.js';
import { errorText } from '../alerts/sink.js';
import type { Engine, EngineFeedItem } from '../engine/engine.js';
import { toStoredEvent } from '../engine/scoring/stored-event.js';
import type { Store, StoredEvent } from '../store/store.js';
import type { IncidentRecord } from './types.js';

type EventItem = Extract<EngineFeedItem, { type: 'event' }>;

export interface DurableFeedOptions {
  readonly store: Pick<Store, 'events' | 'incidents'>;
  readonly grouper: IncidentGrouper;
  /** Each incident change, once it and its event are stored (the alert sinks). */
  readonly onIncident?: (change: IncidentChange) => void;
  readonly log: (msg: string) => void;
  /**
   * Longest a batch waits for its write, ms (default 5,000): past it (a hung database) the items
   * go on unstored rather than hold alerts back; the write still completes in order.
   */
  readonly holdMs?: number;
  /** Most scores held while a write is under way (default 10,000); beyond, `ok` scores are dropped. */
  readonly maxHeldScores?: number;
}

/** The stored form of a feed event (the strategy `name@version` split). */
export function storedEventOf(item: EventItem): StoredEvent {
  const named = item.event.strategy;
  const at = named.lastIndexOf('@');
  const version = Number(named.slice(at + 1));
  return toStoredEvent(item, item.device, item.metric, {
    name: at > 0 ? named.slice(0, at) : named,
    version: at > 0 && Number.isInteger(version) ? version : 1,
  });
}

export function incidentRecord(change: IncidentChange): IncidentRecord {
  const { incident } = change;
  return {
    id: incident.id,
    device: incident.device,
    metrics: incidentMetrics(incident),
    level: incident.level,
    status: incident.status,
    change: change.type,
    first: incident.first,
    last: incident.last,
    end: incident.end,
    eventIds: incident.members.map((m) => m.event.id),
  };
}

interface Pending {
  readonly item: EngineFeedItem;
  readonly change?: IncidentChange;
}

export class DurableFeed {
  readonly #o: DurableFeedOptions;
  readonly #listeners = new Set<(item: EngineFeedItem) => void>();
  #queue: Pending[] = [];
  #heldScores = 0;
  /** The write under way (the next one starts after it: writes keep feed order). */
  #writing: Promise<void> = Promise.resolve();
  #draining: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: DurableFeedOptions) {
    this.#o = options;
  }

  /** Follow the engine's feed (once). */
  attach(engine: Pick<Engine, 'subscribe'>): void {
    this.#unsubscribe ??= engine.subscribe((item) => this.push(item));
  }

  /** The engine as the server should see it: the same, with this feed as its live feed. */
  engine(engine: Engine): Engine {
    const view = Object.create(engine) as Engine;
    Object.defineProperty(view, 'subscribe', {
      value: (listener: (item: EngineFeedItem) => void) => this.subscribe(listener),
    });
    return view;
  }

  subscribe(listener: (item: EngineFeedItem) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** One engine feed item (synchronous: grouping happens now, in feed order). */
  push(item: EngineFeedItem): void {
    if (item.type === 'score' && this.#queue.length === 0 && this.#draining === undefined) {
      this.#emit({ item });
      return;
    }
    if (item.type === 'score') {
      // People's feed, already sampled: while the store is slow, the `ok` ones can go.
      if (this.#heldScores >= (this.#o.maxHeldScores ?? 10_000) && item.point.level === 'ok')
        return;
      this.#heldScores++;
    }
    const change = item.type === 'event' ? this.#o.grouper.apply(item) : undefined;
    this.#queue.push(change === undefined ? { item } : { item, change });
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Resolves once everything pushed so far is stored and passed on. */
  async idle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  /** Stop following the engine; what is queued is still stored and passed on. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.idle();
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      this.#heldScores = 0;
      const write = this.#writing.then(() => this.#store(batch));
      this.#writing = write.catch((error: unknown) => {
        this.#o.log(`storing events before alerting them failed: ${errorText(error)}`);
      });
      let timer: NodeJS.Timeout | undefined;
      const holdMs = this.#o.holdMs ?? 5_000;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), holdMs);
      });
      const timedOut = await Promise.race([this.#writing.then(() => false), late]);
      clearTimeout(timer);
      if (timedOut) {
        this.#o.log(`storing events took over ${holdMs} ms: alerting them before they are stored`);
      }
      for (const p of batch) this.#emit(p);
    }
  }

  async #store(batch: readonly Pending[]): Promise<void> {
    const events = new Map<string, StoredEvent>();
    const incidents = new Map<string, IncidentRecord>();
    for (const { item, change } of batch) {
      if (item.type !== 'event' || change === undefined) continue;
      events.set(item.event.id, storedEventOf(item));
      const record = incidentRecord(change);
      const before = incidents.get(record.id);
      // A batch holding a reopen and later updates: the incident still fires afresh.
      const afresh =
        before !== undefined && (before.change === 'open' || before.change === 'reopen');
      incidents.set(
        record.id,
        afresh && record.change === 'update' ? { ...record, change: before.change } : record,
      );
    }
    if (events.size === 0) return;
    await this.#o.store.events.upsert([...events.values()]);
    for (const record of incidents.values()) await this.#o.store.incidents.record(record);
  }

  #emit(p: Pending): void {
    if (p.change !== undefined) {
      try {
        this.#o.onIncident?.(p.change);
      } catch (error) {
        this.#o.log(`incident listener failed: ${errorText(error)}`);
      }
    }
    for (const listener of this.#listeners) {
      try {
        listener(p.item);
      } catch (error) {
        this.#o.log(`feed listener failed: ${errorText(error)}`);
      }
    }
  }
}
