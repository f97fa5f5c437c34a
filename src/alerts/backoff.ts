/** Retry timing for alert deliveries: exponential backoff with seeded jitter. */
import { Rng } from '../core/stats/rng.js';
import { exponentialDelay } from '../timing/backoff.js';

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay after the first failed attempt, ms. */
  readonly initialMs: number;
  /** Cap on any delay, ms. */
  readonly maxMs: number;
  /** Growth per failed attempt. */
  readonly multiplier: number;
  /**
   * Share of each delay that is random, in [0, 1]: the delay is drawn from
   * [(1 − jitter)·d, d]. Spreads the retries of many senders after a shared outage.
   */
  readonly jitter: number;
}

export const RETRY_DEFAULTS: RetryPolicy = {
  maxAttempts: 5,
  initialMs: 500,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 0.5,
};

/** The delay after `failedAttempts` (≥ 1) failures, for a uniform draw `u` in [0, 1). */
export function backoffDelay(policy: RetryPolicy, failedAttempts: number, u: number): number {
  const capped = exponentialDelay(policy, failedAttempts - 1);
  return Math.round(capped * (1 - policy.jitter * u));
}

/** FNV-1a of a string: a stable seed from a sink's name. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A sink's delays: the same seed gives the same sequence of delays. */
export class Backoff {
  readonly #rng: Rng;

  constructor(
    readonly policy: RetryPolicy,
    seed: number,
  ) {
    this.#rng = Rng.fromSeed(seed);
  }

  /** The next delay after `failedAttempts` failures; at least `atLeastMs` (e.g. Retry-After). */
  next(failedAttempts: number, atLeastMs = 0): number {
    const delay = backoffDelay(this.policy, failedAttempts, this.#rng.next());
    return Math.max(delay, Math.min(atLeastMs, this.policy.maxMs));
  }
}
