/**
 * Event fan-out across the cluster (docs/cluster.md, "Events"): a scorer hands every event
 * change (and every flagged score) of the partitions it owns to its local hub, where its
 * alerting listens (so each change is alerted once, by the owner), and publishes it on a NATS
 * subject that every node's live stream and dashboard subscribe to. Live only: the store holds
 * the events; a node that was away reads them there.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { EngineFeedItem } from '../engine/engine.js';

type Listener = (item: EngineFeedItem) => void;

/** Listeners of one process; a failing listener never stops the others. */
export class FeedHub {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly log: (message: string) => void = () => undefined) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(item: EngineFeedItem): void {
    for (const listener of this.listeners) {
      try {
        listener(item);
      } catch (error) {
        this.log(`feed listener failed: ${String(error)}`);
      }
    }
  }
}

const encoder = new TextEncoder();

/** What crosses the bus: event changes and flagged scores (`ok` scores stay local). */
export const crossesBus = (item: EngineFeedItem): boolean =>
  item.type === 'event' || item.point.level !== 'ok';

export function publishFeedItem(nc: NatsConnection, subject: string, item: EngineFeedItem): void {
  nc.publish(subject, encoder.encode(JSON.stringify(item)));
}

/** Every item published on `subject` by any scorer, into `hub`; returns the unsubscribe. */
export function followBus(
  nc: NatsConnection,
  subject: string,
  hub: FeedHub,
  log: (message: string) => void,
): () => void {
  const sub: Subscription = nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error !== null) {
        log(`event bus ${subject}: ${error.message}`);
        return;
      }
      try {
        hub.emit(msg.json<EngineFeedItem>());
      } catch (e) {
        log(`event bus ${subject}: dropping a message that is not a feed item: ${String(e)}`);
      }
    },
  });
  return () => sub.unsubscribe();
}
