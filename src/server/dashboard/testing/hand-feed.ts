/** A feed to publish scores into by hand: the dashboard's buffers only need `subscribe`. */
import type { EngineFeedItem, ScoredPoint } from '../../../engine/engine.js';

export function handFeed() {
  const listeners = new Set<(item: EngineFeedItem) => void>();
  return {
    subscribe(l: (item: EngineFeedItem) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    score(point: Partial<ScoredPoint> & { timestamp: number; score: number }) {
      const p: ScoredPoint = {
        device_id: 'd',
        metric: 'm',
        value: 1,
        level: 'ok',
        strategy: 's@1',
        ...point,
      };
      for (const l of listeners) l({ type: 'score', point: p });
    },
    /** Subscribers now. */
    get size() {
      return listeners.size;
    },
  };
}
