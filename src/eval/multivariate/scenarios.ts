import {
  MACHINE_KINDS,
  faultsOf,
  makeMachineRun,
  type MachineFault,
  type MachineKind,
  type MachineRun,
} from './machines.js';

/**
 * The runs of the multivariate quality suite: every fault of every machine on short runs (1,200
 * rows at 1 Hz, the first 400 normal for training, the fault on rows 600–1000, two seeds each),
 * and long runs of three days (the first day for training, a daily load and ambient cycle, one
 * slower fault on day two or three).
 */
export interface Scenario {
  readonly name: string;
  readonly run: MachineRun;
  readonly trainRows: number;
}

const SHORT = { length: 1200, train: 400, start: 600, end: 1000 } as const;
const DAY = 86_400;
const HOUR = 3600;

export function shortScenarios(seeds: readonly number[] = [1, 2]): Scenario[] {
  const out: Scenario[] = [];
  MACHINE_KINDS.forEach((kind, k) => {
    faultsOf(kind).forEach((fault, f) => {
      for (const seed of seeds) {
        const run = makeMachineRun({
          kind,
          seed: 1000 * seed + 100 * k + f,
          length: SHORT.length,
          fault: { kind: fault, start: SHORT.start, end: SHORT.end },
        });
        out.push({ name: `${kind}/${fault}/short#${seed}`, run, trainRows: SHORT.train });
      }
    });
  });
  return out;
}

/** Long runs: [machine, fault, start (s), duration (s)]. */
const LONG: readonly (readonly [MachineKind, MachineFault, number, number])[] = [
  ['pump', 'bearing-wear', DAY + 14 * HOUR, 6 * HOUR],
  ['motor', 'supply-sag', 2 * DAY + 9 * HOUR, 20 * 60],
  ['valve', 'leak', DAY + 20 * HOUR, 2 * HOUR],
  ['compressor', 'sensor-drift', 2 * DAY + 3 * HOUR, 8 * HOUR],
];

export function longScenarios(days = 3): Scenario[] {
  return LONG.map(([kind, fault, start, duration], k) => ({
    name: `${kind}/${fault}/long`,
    run: makeMachineRun({
      kind,
      seed: 77 + k,
      length: days * DAY,
      fault: { kind: fault, start, end: start + duration },
      holdSeconds: [20 * 60, 3 * HOUR],
      daily: true,
    }),
    trainRows: DAY,
  }));
}
