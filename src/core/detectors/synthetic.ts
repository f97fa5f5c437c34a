import { Rng } from '../stats/rng.js';

/**
 * Seeded synthetic series with one known anomaly each, for the detector quality tests and docs.
 *
 * Baseline: a daily season (fundamental plus a weaker second harmonic) around a constant level,
 * plus Gaussian noise, sampled every 5 minutes (288 points a day) by default. Every series comes
 * with its clean twin: the same seed and noise draws without the anomaly, so a detector's false
 * alarms and its detections can be told apart point by point.
 */
export const ANOMALY_KINDS = [
  'spike',
  'level-shift',
  'variance-change',
  'seasonality-break',
  'flatline',
  'drift',
] as const;

export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface SyntheticOptions {
  readonly seed: number;
  readonly anomaly: AnomalyKind;
  /** Sampling step in ms (event time). */
  readonly stepMs?: number;
  /** Points per season ("day"). */
  readonly period?: number;
  /** Total points. */
  readonly length?: number;
  /** Index where the anomaly begins; a multiple of period / 2 puts it on a season zero crossing. */
  readonly start?: number;
  readonly level?: number;
  /** Amplitude of the season's fundamental. */
  readonly amplitude?: number;
  /** Standard deviation of the Gaussian noise. */
  readonly noise?: number;
  readonly startTimeMs?: number;
}

export interface SyntheticSeries {
  readonly anomaly: AnomalyKind;
  readonly times: Float64Array;
  /** With the anomaly. */
  readonly values: Float64Array;
  /** The clean twin. */
  readonly clean: Float64Array;
  /** Anomalous points are [start, end). */
  readonly start: number;
  readonly end: number;
}

export const SYNTHETIC_DEFAULTS = {
  stepMs: 300_000,
  period: 288,
  length: 288 * 10,
  start: 288 * 7,
  level: 50,
  amplitude: 10,
  noise: 1,
  startTimeMs: Date.UTC(2024, 0, 1),
} as const;

/** Standard normal draw (Box–Muller, one of the pair). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]: keeps log finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

export function makeSyntheticSeries(options: SyntheticOptions): SyntheticSeries {
  const o = { ...SYNTHETIC_DEFAULTS, ...options };
  const { period: P, length: n, start, amplitude: A } = o;
  const rng = Rng.fromSeed(o.seed);
  const times = new Float64Array(n);
  const season = new Float64Array(n);
  const noise = new Float64Array(n);
  const clean = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    times[i] = o.startTimeMs + i * o.stepMs;
    const phase = (2 * Math.PI * i) / P;
    season[i] = A * Math.sin(phase) + 0.3 * A * Math.sin(2 * phase);
    noise[i] = o.noise * gaussian(rng);
    clean[i] = o.level + (season[i] as number) + (noise[i] as number);
  }
  const values = Float64Array.from(clean);
  let end = n;
  switch (o.anomaly) {
    case 'spike':
      // A single reading far above anything the season produces (sensor glitch, burst).
      values[start] = (values[start] as number) + 4 * A;
      end = start + 1;
      break;
    case 'level-shift':
      for (let i = start; i < n; i++) values[i] = (values[i] as number) + 2 * A;
      break;
    case 'variance-change':
      end = start + P / 2;
      for (let i = start; i < end; i++)
        values[i] = (values[i] as number) + 3 * (noise[i] as number);
      break;
    case 'seasonality-break':
      // The daily pattern runs upside down for a day; it starts at a zero crossing, so there is
      // no jump: only a detector that knows the season can see it.
      end = start + P;
      for (let i = start; i < end; i++)
        values[i] = (values[i] as number) - 2 * (season[i] as number);
      break;
    case 'flatline': {
      end = start + P / 2;
      const stuck = values[start] as number;
      for (let i = start; i < end; i++) values[i] = stuck;
      break;
    }
    case 'drift':
      // One amplitude per season: slow enough that no single step stands out.
      for (let i = start; i < n; i++) values[i] = (values[i] as number) + (A / P) * (i - start);
      break;
  }
  return { anomaly: o.anomaly, times, values, clean, start, end };
}
