import { Rng } from '../../stats/rng.js';
import { gaussian } from '../synthetic.js';

/**
 * Seeded synthetic telemetry of one pump, for the multivariate quality tests and docs: five
 * sensors driven by one hidden load (so strongly correlated), each with its own noise, every
 * 5 minutes for 10 days by default. Each series has one fault (`correlation-break`, `stuck`,
 * `drift`) and a clean twin with the very same noise draws. The load, the sensors and the faults:
 * docs/multivariate.md, "Measured behaviour".
 */
export const IOT_METRICS = ['current', 'pressure', 'flow', 'temperature', 'vibration'] as const;
export type IotMetric = (typeof IOT_METRICS)[number];

export const IOT_FAULTS = ['correlation-break', 'stuck', 'drift'] as const;
export type IotFault = (typeof IOT_FAULTS)[number];

export interface IotOptions {
  readonly seed: number;
  readonly fault: IotFault;
  /** Total points (5-minute steps). */
  readonly length?: number;
  /** The first points, whose clean ranges bound the correlation-break fault. */
  readonly training?: number;
  /** Index where the fault begins (default: day 7, at a time of day that suits the fault). */
  readonly start?: number;
  readonly stepMs?: number;
  readonly startTimeMs?: number;
}

export interface IotSeries {
  readonly fault: IotFault;
  readonly metrics: readonly IotMetric[];
  readonly times: Float64Array;
  /** One vector per point, in `metrics` order, with the fault. */
  readonly values: readonly Float64Array[];
  /** The clean twin. */
  readonly clean: readonly Float64Array[];
  /** Faulty points are [start, end). */
  readonly start: number;
  readonly end: number;
  /** The metrics the fault acts on. */
  readonly faulty: readonly IotMetric[];
}

export const IOT_DEFAULTS = {
  length: 288 * 10,
  training: 288 * 3,
  stepMs: 300_000,
  startTimeMs: Date.UTC(2024, 0, 1),
} as const;

const DAY = 288;

/** Sensor models: value = offset + gain·load + N(0, noise²). */
const SENSORS: Readonly<Record<IotMetric, { offset: number; gain: number; noise: number }>> = {
  current: { offset: 8, gain: 20, noise: 0.25 },
  pressure: { offset: 1.2, gain: 3.6, noise: 0.05 },
  flow: { offset: 4, gain: 42, noise: 0.6 },
  temperature: { offset: 38, gain: 18, noise: 0.25 },
  vibration: { offset: 1.1, gain: 2.4, noise: 0.08 },
};

const FAULTS: Readonly<
  Record<IotFault, { start: number; duration: number; faulty: readonly IotMetric[] }>
> = {
  // 6 a.m.: the load is rising, so the fault spans most of the daily range.
  'correlation-break': { start: 7 * DAY + 72, duration: 72, faulty: ['flow', 'pressure'] },
  // 4 a.m., near the night's low: the load moves away from the frozen reading within hours.
  stuck: { start: 7 * DAY + 48, duration: 144, faulty: ['pressure'] },
  drift: { start: 7 * DAY, duration: Number.POSITIVE_INFINITY, faulty: ['temperature'] },
};

/** What 0.1 of load changes in the correlation break (flow down, pressure up). */
const BREAK_LOAD = 0.1;
/** Temperature drift per 5-minute point: 3 °C a day. */
const DRIFT_PER_POINT = 3 / DAY;

export function makeIotSeries(options: IotOptions): IotSeries {
  const o = { ...IOT_DEFAULTS, ...options };
  const n = o.length;
  const fault = FAULTS[o.fault];
  // A series shorter than the fault's start simply has no fault.
  const start = Math.min(n, o.start ?? fault.start);
  const end = Math.min(n, start + fault.duration);
  const rng = Rng.fromSeed(o.seed);
  const d = IOT_METRICS.length;
  const times = new Float64Array(n);
  const clean: Float64Array[] = [];
  const load = new Float64Array(n);
  let demand = 0;
  let thermal = Number.NaN;
  for (let i = 0; i < n; i++) {
    times[i] = o.startTimeMs + i * o.stepMs;
    const phase = (2 * Math.PI * i) / DAY;
    demand = 0.97 * demand + 0.012 * gaussian(rng);
    const l = 0.65 - 0.22 * Math.cos(phase) + 0.05 * Math.sin(2 * phase) + demand;
    load[i] = l;
    thermal = Number.isNaN(thermal) ? l : thermal + (l - thermal) / 6;
    const row = new Float64Array(d);
    IOT_METRICS.forEach((metric, j) => {
      const s = SENSORS[metric];
      row[j] =
        s.offset + s.gain * (metric === 'temperature' ? thermal : l) + s.noise * gaussian(rng);
    });
    clean.push(row);
  }

  const values = clean.map((row) => Float64Array.from(row));
  const at = (metric: IotMetric): number => IOT_METRICS.indexOf(metric);
  if (o.fault === 'correlation-break') {
    const ranges = IOT_METRICS.map((_, j) => range(clean, j, Math.min(o.training, n)));
    for (let i = start; i < end; i++) {
      const row = values[i]!;
      for (const [metric, sign] of [
        ['flow', -1],
        ['pressure', 1],
      ] as const) {
        const j = at(metric);
        const [lo, hi] = ranges[j]!;
        const shifted = (row[j] as number) + sign * SENSORS[metric].gain * BREAK_LOAD;
        row[j] = Math.min(hi, Math.max(lo, shifted));
      }
    }
  } else if (o.fault === 'stuck' && start < end) {
    const j = at('pressure');
    const frozen = values[Math.max(0, start - 1)]![j] as number;
    for (let i = start; i < end; i++) values[i]![j] = frozen;
  } else if (o.fault === 'drift') {
    const j = at('temperature');
    for (let i = start; i < end; i++) {
      values[i]![j] = (values[i]![j] as number) + DRIFT_PER_POINT * (i - start + 1);
    }
  }
  return {
    fault: o.fault,
    metrics: IOT_METRICS,
    times,
    values,
    clean,
    start,
    end,
    faulty: fault.faulty,
  };
}

/** [min, max] of column j over the first `count` vectors. */
export function range(rows: readonly Float64Array[], j: number, count: number): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const v = rows[i]![j] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
