import { Rng } from '../../core/stats/rng.js';
import { gaussian } from '../../core/detectors/synthetic.js';

/**
 * Seeded synthetic machines sampled at 1 Hz, for the multivariate quality suite and the
 * training-period tests: pumps, motors, valves and compressors whose sensors follow a few hidden
 * states — the operating point (changed between modes, with a mechanical lag), a thermal state
 * that follows it over minutes, the supply voltage and, on long runs, the ambient temperature
 * over the day — each sensor with its own autocorrelated noise. A fault changes the relations the
 * way such a machine's fault does (docs/multivariate.md, "Quality suite").
 */

export const MACHINE_KINDS = ['pump', 'motor', 'valve', 'compressor'] as const;
export type MachineKind = (typeof MACHINE_KINDS)[number];

export const MACHINE_FAULTS = [
  'blockage',
  'imbalance',
  'leak',
  'bearing-wear',
  'sensor-drift',
  'sticking-sensor',
  'supply-sag',
] as const;
export type MachineFault = (typeof MACHINE_FAULTS)[number];

/** value = offset + load·F + heat·T + supply·S + ambient·A + square·F² + noise. */
interface Sensor {
  readonly name: string;
  readonly offset: number;
  readonly load: number;
  readonly heat?: number;
  readonly supply?: number;
  readonly ambient?: number;
  readonly square?: number;
  /** Standard deviation of the sensor's own (autocorrelated) noise. */
  readonly noise: number;
}

interface Machine {
  readonly sensors: readonly Sensor[];
  /** Operating points (fractions of the rated load) the machine moves between. */
  readonly modes: readonly number[];
  /** Per fault the machine can show: the metrics it acts on (the ones to blame). */
  readonly faults: Partial<Record<MachineFault, readonly string[]>>;
}

const MACHINES: Readonly<Record<MachineKind, Machine>> = {
  pump: {
    sensors: [
      { name: 'speed', offset: 600, load: 2400, supply: 300, noise: 4 },
      { name: 'current', offset: 6, load: 24, supply: -12, square: 4, noise: 0.15 },
      { name: 'voltage', offset: 400, load: -4, supply: 400, noise: 0.8 },
      { name: 'pressure', offset: 0.8, load: 1.2, square: 2.4, noise: 0.03 },
      { name: 'flow', offset: 2, load: 46, supply: 8, noise: 0.5 },
      { name: 'vibration', offset: 0.8, load: 1.6, square: 0.8, noise: 0.05 },
      { name: 'bearing_temp', offset: 32, load: 2, heat: 16, ambient: 0.8, noise: 0.15 },
      { name: 'motor_temp', offset: 36, load: 1, heat: 28, ambient: 0.9, noise: 0.2 },
    ],
    modes: [0.45, 0.6, 0.75, 0.9],
    faults: {
      blockage: ['flow', 'pressure'],
      imbalance: ['vibration'],
      leak: ['pressure', 'flow'],
      'bearing-wear': ['vibration', 'bearing_temp'],
      'sensor-drift': ['bearing_temp'],
      'sticking-sensor': ['flow'],
      'supply-sag': ['voltage', 'current', 'speed'],
    },
  },
  motor: {
    sensors: [
      { name: 'speed', offset: 300, load: 1400, supply: 200, noise: 3 },
      { name: 'current', offset: 4, load: 30, supply: -15, noise: 0.2 },
      { name: 'voltage', offset: 230, load: -3, supply: 230, noise: 0.5 },
      { name: 'torque', offset: 5, load: 60, noise: 0.6 },
      { name: 'vibration', offset: 0.6, load: 0.6, square: 1.6, noise: 0.04 },
      { name: 'bearing_temp', offset: 30, load: 1, heat: 14, ambient: 0.8, noise: 0.15 },
      { name: 'winding_temp', offset: 35, load: 2, heat: 40, ambient: 0.9, noise: 0.25 },
    ],
    modes: [0.3, 0.5, 0.7, 0.85],
    faults: {
      imbalance: ['vibration'],
      'bearing-wear': ['vibration', 'bearing_temp'],
      'sensor-drift': ['winding_temp'],
      'sticking-sensor': ['torque'],
      'supply-sag': ['voltage', 'current', 'speed'],
    },
  },
  valve: {
    sensors: [
      { name: 'position', offset: 5, load: 90, noise: 0.3 },
      { name: 'upstream_pressure', offset: 6.2, load: -0.6, noise: 0.03 },
      { name: 'downstream_pressure', offset: 1.5, load: 3.2, noise: 0.03 },
      { name: 'flow', offset: 4, load: 60, square: -12, noise: 0.5 },
      { name: 'actuator_current', offset: 0.2, load: 0.3, noise: 0.02 },
      { name: 'body_temp', offset: 25, load: 2, heat: 6, ambient: 0.9, noise: 0.15 },
    ],
    modes: [0.25, 0.4, 0.55, 0.7, 0.85],
    faults: {
      blockage: ['flow', 'downstream_pressure'],
      leak: ['downstream_pressure', 'flow'],
      'sensor-drift': ['downstream_pressure'],
      'sticking-sensor': ['position'],
    },
  },
  compressor: {
    sensors: [
      { name: 'speed', offset: 1200, load: 2400, supply: 400, noise: 5 },
      { name: 'current', offset: 12, load: 40, supply: -20, square: 8, noise: 0.3 },
      { name: 'voltage', offset: 400, load: -5, supply: 400, noise: 0.8 },
      { name: 'suction_pressure', offset: 1.4, load: -0.4, noise: 0.02 },
      { name: 'discharge_pressure', offset: 4, load: 3, square: 2, noise: 0.05 },
      { name: 'flow', offset: 20, load: 160, noise: 1.5 },
      { name: 'discharge_temp', offset: 60, load: 8, heat: 40, ambient: 1, noise: 0.3 },
      { name: 'vibration', offset: 1.2, load: 1.2, square: 1.4, noise: 0.06 },
    ],
    modes: [0.5, 0.65, 0.8, 0.95],
    faults: {
      blockage: ['flow', 'discharge_pressure'],
      imbalance: ['vibration'],
      leak: ['discharge_pressure', 'flow'],
      'bearing-wear': ['vibration'],
      'sensor-drift': ['discharge_temp'],
      'sticking-sensor': ['discharge_pressure'],
      'supply-sag': ['voltage', 'current', 'speed'],
    },
  },
};

/** The faults a machine kind can show. */
export function faultsOf(kind: MachineKind): MachineFault[] {
  return MACHINE_FAULTS.filter((f) => MACHINES[kind].faults[f] !== undefined);
}

export function metricsOf(kind: MachineKind): string[] {
  return MACHINES[kind].sensors.map((s) => s.name);
}

export interface MachineOptions {
  readonly kind: MachineKind;
  readonly seed: number;
  /** Rows (seconds). */
  readonly length: number;
  /** Rows [start, end) are faulty; no fault when omitted. */
  readonly fault?: { readonly kind: MachineFault; readonly start: number; readonly end: number };
  /** Seconds between operating-mode changes, drawn uniformly from [min, max]. */
  readonly holdSeconds?: readonly [number, number];
  /** Add the day's ambient cycle and a daily load pattern (long runs). */
  readonly daily?: boolean;
  readonly startTimeMs?: number;
}

export interface MachineRun {
  readonly kind: MachineKind;
  readonly metrics: readonly string[];
  readonly times: Float64Array;
  readonly values: readonly Float64Array[];
  readonly fault: MachineFault | null;
  /** Faulty rows [start, end) (both = length without a fault). */
  readonly start: number;
  readonly end: number;
  /** The metrics the fault acts on. */
  readonly blame: readonly string[];
}

/** The opening sweep through every mode lasts this long: within a 400-row training period. */
const SWEEP_S = 360;
const MECHANICAL_LAG_S = 4;
const THERMAL_LAG_S = 60;
const NOISE_MEMORY = 0.6;
const DAY_S = 86_400;

export function makeMachineRun(options: MachineOptions): MachineRun {
  const machine = MACHINES[options.kind];
  const { sensors } = machine;
  const rng = Rng.fromSeed(options.seed);
  const n = options.length;
  const [holdMin, holdMax] = options.holdSeconds ?? [90, 240];
  const t0 = options.startTimeMs ?? Date.UTC(2024, 0, 1);
  const times = new Float64Array(n);
  const values: Float64Array[] = [];
  const noise = new Float64Array(sensors.length);
  const innovation = Math.sqrt(1 - NOISE_MEMORY * NOISE_MEMORY);
  const pick = (): number => machine.modes[Math.floor(rng.next() * machine.modes.length)]!;
  // A run starts with every mode once, in a seeded order (the commissioning sweep a training
  // period should cover), then moves between modes at random.
  const sweep = shuffled(machine.modes, rng);
  const sweepHold = Math.floor(SWEEP_S / sweep.length);
  let mode = sweep.shift()!;
  let untilChange = sweepHold;
  let f = mode;
  let heat = mode;
  let supply = 0;
  for (let i = 0; i < n; i++) {
    times[i] = t0 + i * 1000;
    if (--untilChange <= 0) {
      const swept = sweep.shift();
      let next = swept ?? pick();
      while (next === mode) next = pick();
      mode = next;
      untilChange =
        swept === undefined ? holdMin + Math.floor(rng.next() * (holdMax - holdMin)) : sweepHold;
    }
    const day = options.daily ? Math.sin((2 * Math.PI * i) / DAY_S - Math.PI / 2) : 0;
    // Long runs: the modes are scaled by the day's demand (lower at night).
    const target = mode * (1 + 0.12 * day);
    f += (target - f) / MECHANICAL_LAG_S;
    heat += (f - heat) / THERMAL_LAG_S;
    supply = 0.97 * supply + 0.0015 * gaussian(rng);
    const ambient = 6 * day;
    const row = new Float64Array(sensors.length);
    for (let j = 0; j < sensors.length; j++) {
      const s = sensors[j]!;
      noise[j] = NOISE_MEMORY * (noise[j] as number) + innovation * gaussian(rng);
      row[j] =
        s.offset +
        s.load * f +
        (s.heat ?? 0) * heat +
        (s.supply ?? 0) * supply +
        (s.ambient ?? 0) * ambient +
        (s.square ?? 0) * f * f +
        s.noise * (noise[j] as number);
    }
    values.push(row);
  }
  const metrics = sensors.map((s) => s.name);
  if (!options.fault) {
    return { kind: options.kind, metrics, times, values, fault: null, start: n, end: n, blame: [] };
  }
  const { kind: fault, start, end } = options.fault;
  const blame = machine.faults[fault];
  if (!blame) throw new RangeError(`a ${options.kind} has no '${fault}' fault`);
  injectFault(machine, fault, values, Math.min(start, n), Math.min(end, n));
  return { kind: options.kind, metrics, times, values, fault, start, end: Math.min(end, n), blame };
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Fault onset over this many seconds (a blockage or leak builds up, it does not jump). */
const RISE_S = 20;

function injectFault(
  machine: Machine,
  fault: MachineFault,
  values: Float64Array[],
  start: number,
  end: number,
): void {
  const index = new Map(machine.sensors.map((s, j) => [s.name, j]));
  const sensor = (name: string): Sensor => machine.sensors[index.get(name)!]!;
  /** Add `amount(i)` to metric `name`, in units of the sensor's load gain (what load would do). */
  const add = (name: string, amount: (k: number, f: number) => number, scale?: number): void => {
    const j = index.get(name);
    if (j === undefined) return;
    const s = machine.sensors[j]!;
    const unit = scale ?? Math.abs(s.load);
    for (let i = start; i < end; i++) {
      const row = values[i]!;
      row[j] = (row[j] as number) + unit * amount(i - start, row[j] as number);
    }
  };
  const rise = (k: number): number => Math.min(1, (k + 1) / RISE_S);
  const ramp = (k: number): number => (k + 1) / Math.max(1, end - start);
  const blame = machine.faults[fault]!;
  switch (fault) {
    case 'blockage':
      // Less flow for the same drive, more head before the restriction.
      add(blame[0]!, (k) => -0.12 * rise(k));
      add(blame[1]!, (k) => 0.1 * rise(k));
      break;
    case 'leak':
      add(blame[0]!, (k) => -0.1 * rise(k));
      add(blame[1]!, (k) => 0.06 * rise(k));
      break;
    case 'imbalance':
      add('vibration', (k) => 12 * rise(k), sensor('vibration').noise);
      break;
    case 'bearing-wear':
      add('vibration', (k) => 4 + 10 * ramp(k), sensor('vibration').noise);
      if (index.has('bearing_temp')) {
        add('bearing_temp', (k) => 3 + 12 * ramp(k), sensor('bearing_temp').noise);
      }
      break;
    case 'sensor-drift':
      add(blame[0]!, (k) => 3 + 14 * ramp(k), sensor(blame[0]!).noise);
      break;
    case 'sticking-sensor': {
      const j = index.get(blame[0]!)!;
      const stuck = values[Math.max(0, start - 1)]![j] as number;
      for (let i = start; i < end; i++) values[i]![j] = stuck;
      break;
    }
    case 'supply-sag':
      // 8 % less voltage: the motor draws more current and slips a little.
      add('voltage', (k) => -0.08 * rise(k), sensor('voltage').offset);
      add('current', (k) => 0.08 * rise(k), sensor('current').offset + sensor('current').load);
      add('speed', (k) => -0.01 * rise(k), sensor('speed').offset + sensor('speed').load);
      break;
  }
}

/** The rig: one pump, 8 sensors at 1 Hz, 1,150 rows, a blockage on rows 580–975. */
export function makeRig(seed = 16): MachineRun {
  return makeMachineRun({
    kind: 'pump',
    seed,
    length: 1150,
    fault: { kind: 'blockage', start: 580, end: 976 },
  });
}

/** CSV text of a run: `datetime` (ISO) then one column per metric. */
export function runToCsv(run: MachineRun): string {
  const lines = [['datetime', ...run.metrics].join(',')];
  run.values.forEach((row, i) => {
    const time = new Date(run.times[i] as number).toISOString();
    lines.push([time, ...Array.from(row, (v) => v.toFixed(4))].join(','));
  });
  return lines.join('\n') + '\n';
}
