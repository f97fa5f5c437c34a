/**
 * Events waiting to be stored: the latest version of each event (by id) since the last write,
 * written in one upsert at a time, in call order. A failed write keeps its events for the next,
 * unless a newer version arrived meanwhile.
 */
import type { Store, StoredEvent } from '../store/store.js';

export class EventWriter {
  private pending = new Map<string, StoredEvent>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly store: Store) {}

  add(event: StoredEvent): void {
    this.pending.set(event.id, event);
  }

  /** Write what is pending now (after any write under way). */
  flush(): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.store.events.upsert([...batch.values()]);
      } catch (error) {
        for (const [id, e] of batch) if (!this.pending.has(id)) this.pending.set(id, e);
        throw error;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
