/**
 * The live feed (`Engine.subscribe`): scores and event changes to every listener. It is for
 * people and dashboards, so `ok` scores are sampled to a budget per wall-clock second (flagged
 * ones always go out) and a failing listener is logged, never rethrown into scoring.
 */
import type { EngineFeedItem, ScoredPoint } from './engine.js';

export class Feed {
  private readonly listeners = new Set<(item: EngineFeedItem) => void>();
  private window = 0;
  private used = 0;

  constructor(
    /** Most `ok` scores per second. */
    private readonly budget: number,
    private readonly clock: () => number,
    private readonly log: (message: string) => void,
  ) {}

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  subscribe(listener: (item: EngineFeedItem) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Whether a score of this level goes out now (an `ok` one takes from the budget). */
  admits(level: ScoredPoint['level']): boolean {
    if (level !== 'ok') return true;
    const second = Math.floor(this.clock() / 1000);
    if (second !== this.window) {
      this.window = second;
      this.used = 0;
    }
    if (this.used >= this.budget) return false;
    this.used++;
    return true;
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
