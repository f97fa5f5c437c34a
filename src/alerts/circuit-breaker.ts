/**
 * A count-based circuit breaker (SEED-SPEC §9): it opens when at least `failureRatio` of the last
 * `windowSize` calls failed (once `minCalls` calls are in the window), rejects every call while
 * open, and after `openMs` lets exactly one probe through (half-open): success closes it with a
 * fresh window, failure opens it again.
 * Hand-written: no installed package has a breaker (opossum, cockatiel are not dependencies), and
 * opossum's window is time-based rolling buckets, not the last N calls the spec asks for.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Calls the failure ratio is measured over (default 100). */
  readonly windowSize: number;
  /** Open at this share of failures or more, in (0, 1] (default 0.5). */
  readonly failureRatio: number;
  /** Calls the window must hold before the ratio can open it (default: `windowSize`). */
  readonly minCalls: number;
  /** How long it stays open before the half-open probe, ms (default 60,000). */
  readonly openMs: number;
}

export const BREAKER_DEFAULTS: BreakerOptions = {
  windowSize: 100,
  failureRatio: 0.5,
  minCalls: 100,
  openMs: 60_000,
};

export class CircuitBreaker {
  readonly options: BreakerOptions;
  /** Ring of the last outcomes: 1 = failure. */
  readonly #ring: Uint8Array;
  #size = 0;
  #next = 0;
  #failures = 0;
  #open = false;
  #openedAt = 0;
  #probing = false;

  constructor(
    options: Partial<BreakerOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    const o = { ...BREAKER_DEFAULTS, ...options };
    if (options.minCalls === undefined) o.minCalls = o.windowSize;
    if (!Number.isInteger(o.windowSize) || o.windowSize < 1) {
      throw new RangeError(`breaker windowSize must be a positive integer, found ${o.windowSize}`);
    }
    if (!(o.failureRatio > 0 && o.failureRatio <= 1)) {
      throw new RangeError(`breaker failureRatio must be in (0, 1], found ${o.failureRatio}`);
    }
    if (!Number.isInteger(o.minCalls) || o.minCalls < 1 || o.minCalls > o.windowSize) {
      throw new RangeError(`breaker minCalls must be an integer from 1 to windowSize`);
    }
    if (!(o.openMs >= 0)) throw new RangeError(`breaker openMs must be ≥ 0, found ${o.openMs}`);
    this.options = Object.freeze(o);
    this.#ring = new Uint8Array(o.windowSize);
  }

  get state(): BreakerState {
    if (!this.#open) return 'closed';
    if (this.#probing || this.now() - this.#openedAt >= this.options.openMs) return 'half-open';
    return 'open';
  }

  /** Failures and calls in the current window. */
  get window(): { readonly calls: number; readonly failures: number } {
    return { calls: this.#size, failures: this.#failures };
  }

  /**
   * May a call go out now? Closed: yes. Open: no, until `openMs` has passed; then yes for one
   * probe, and no for everything else until that probe's outcome is recorded.
   */
  tryAcquire(): boolean {
    if (!this.#open) return true;
    if (this.#probing) return false;
    if (this.now() - this.#openedAt < this.options.openMs) return false;
    this.#probing = true;
    return true;
  }

  /** The outcome of a call `tryAcquire` let through. */
  record(success: boolean): void {
    if (this.#open) {
      if (!this.#probing) return; // a call from before the breaker opened: already judged
      this.#probing = false;
      if (success) {
        this.#open = false;
        this.#reset();
      } else {
        this.#openedAt = this.now();
      }
      return;
    }
    if (this.#size === this.#ring.length) {
      this.#failures -= this.#ring[this.#next]!;
    } else {
      this.#size++;
    }
    this.#ring[this.#next] = success ? 0 : 1;
    this.#next = (this.#next + 1) % this.#ring.length;
    if (!success) this.#failures++;
    if (
      this.#size >= this.options.minCalls &&
      this.#failures >= this.options.failureRatio * this.#size
    ) {
      this.#open = true;
      this.#openedAt = this.now();
      this.#reset();
    }
  }

  #reset(): void {
    this.#ring.fill(0);
    this.#size = 0;
    this.#next = 0;
    this.#failures = 0;
  }
}
