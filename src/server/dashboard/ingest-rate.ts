/**
 * Points per second accepted by the engine, from a monotonic counter sampled every `everyMs`:
 * the rate over the last `windowMs`. Sampling on a timer (rather than per request) makes the
 * rate independent of how often the dashboard asks.
 */
export interface IngestRate {
  /** Points per second over the window; null until two samples exist. */
  perSecond(): number | null;
  /** The counter's current total. */
  total(): number;
  stop(): void;
}

export function sampleIngestRate(
  counter: () => number,
  options: { everyMs?: number; windowMs?: number; clock?: () => number } = {},
): IngestRate {
  const everyMs = options.everyMs ?? 2_000;
  const windowMs = options.windowMs ?? 30_000;
  const clock = options.clock ?? Date.now;
  const samples: { t: number; n: number }[] = [{ t: clock(), n: counter() }];
  const timer = setInterval(() => {
    const t = clock();
    samples.push({ t, n: counter() });
    while (samples.length > 2 && (samples[1] as { t: number }).t <= t - windowMs) samples.shift();
  }, everyMs);
  timer.unref();
  return {
    perSecond() {
      const first = samples[0];
      const last = samples[samples.length - 1];
      if (first === undefined || last === undefined || last.t <= first.t) return null;
      return ((last.n - first.n) * 1000) / (last.t - first.t);
    },
    total: counter,
    stop: () => clearInterval(timer),
  };
}
