/**
 * The one exponential backoff: the delay before retry `retry` (0 for the first) is
 * `initialMs · multiplier^retry`, capped at `maxMs`. Callers add their own jitter or exponent cap
 * (the alert sinks' seeded jitter stays in alerts/backoff.ts). Imports nothing of Vigil's.
 */
export interface ExponentialBackoff {
  /** Delay before the first retry, ms. */
  readonly initialMs: number;
  /** Cap on any delay, ms. */
  readonly maxMs: number;
  /** Growth per retry; 2 unless said. */
  readonly multiplier?: number;
}

export function exponentialDelay(backoff: ExponentialBackoff, retry: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * (backoff.multiplier ?? 2) ** retry);
}
