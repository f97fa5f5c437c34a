/**
 * Events waiting to be stored: the latest version of each event (by id) since the last write,
 * written in one upsert at a time, in call order. A failed write keeps its events for the next,
 * unless a newer version arrived meanwhile.
 *
 * Whatever names an event (the live feed: SSE, alerts) is told only once it is stored: `add`
 * takes an `onStored` callback, run after the write that holds the event has succeeded, in the
 * order the events were added. A failed write keeps its callbacks for the next write.
 */
import type { Store, StoredEvent } from '../store/store.js';

export class EventWriter {
  private pending = new Map<string, StoredEvent>();
  /** Callbacks of the events in `pending`, in the order they were added. */
  private waiting: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    /** Where a failing `onStored` callback is reported (it never stops the others). */
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  add(event: StoredEvent, onStored?: () => void): void {
    this.pending.set(event.id, event);
    if (onStored !== undefined) this.waiting.push(onStored);
  }

  /** Write what is pending now (after any write under way), then run its callbacks. */
  flush(): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      const callbacks = this.waiting;
      this.pending = new Map();
      this.waiting = [];
      try {
        await this.store.events.upsert([...batch.values()]);
      } catch (error) {
        for (const [id, e] of batch) if (!this.pending.has(id)) this.pending.set(id, e);
        this.waiting = [...callbacks, ...this.waiting];
        throw error;
      }
      for (const callback of callbacks) {
        try {
          callback();
        } catch (error) {
          this.log(`event listener failed: ${String(error)}`);
        }
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
