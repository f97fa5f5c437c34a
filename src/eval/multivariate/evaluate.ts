import { compileDeviceStrategy, withTrainingRows } from '../../core/strategy/compile.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { Scenario } from './scenarios.js';
import { countRows, eventRows, type RowCounts } from './spans.js';

/** Unflagged rows that end an event (the span logic of spans.ts): a minute at 1 Hz. */
export const QUIET_ROWS = 60;

/** How one strategy did on one run. */
export interface RunResult {
  readonly scenario: string;
  readonly fault: string;
  readonly counts: RowCounts;
  /** A flagged row inside the fault span. */
  readonly caught: boolean;
  /** Rows from the fault's start to its first flagged row (NaN when missed). */
  readonly delay: number;
  /** Flagged rows inside the fault span, and those whose top metric is one to blame. */
  readonly alarms: number;
  readonly blamed: number;
}

/** Replay a scenario through a strategy, training on its first `trainRows` rows. */
export function evaluate(strategy: Strategy, scenario: Scenario): RunResult {
  const { run, trainRows } = scenario;
  const pipeline = compileDeviceStrategy(
    withTrainingRows(strategy, trainRows),
    run.metrics,
  )(run.kind);
  const flagged = new Array<boolean>(run.values.length).fill(false);
  const shares = new Float64Array(run.metrics.length);
  const blame = new Set(run.blame.map((m) => run.metrics.indexOf(m)));
  let first = -1;
  let alarms = 0;
  let blamed = 0;
  run.values.forEach((row, i) => {
    pipeline.process(run.times[i] as number, row);
    if (pipeline.lastLevel === 'ok') return;
    flagged[i] = true;
    if (i < run.start || i >= run.end) return;
    if (first < 0) first = i;
    alarms++;
    pipeline.contributions(shares);
    let top = 0;
    for (let j = 1; j < shares.length; j++) if (shares[j]! > shares[top]!) top = j;
    if (blame.has(top)) blamed++;
  });
  const counts = countRows(eventRows(flagged, QUIET_ROWS), run.start, run.end, trainRows);
  return {
    scenario: scenario.name,
    fault: run.fault ?? 'none',
    counts,
    caught: first >= 0,
    delay: first >= 0 ? first - run.start : Number.NaN,
    alarms,
    blamed,
  };
}

/** One line of the table: a strategy over many runs. */
export interface Summary {
  readonly f1: number;
  /** In-event normal rows over normal rows. */
  readonly falseAlarmRate: number;
  readonly runs: number;
  readonly missed: readonly string[];
  readonly medianDelay: number;
  /** Share of in-fault alarms that name a metric to blame first. */
  readonly blame: number;
}

export function summarise(results: readonly RunResult[]): Summary {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let normal = 0;
  let alarms = 0;
  let blamed = 0;
  for (const r of results) {
    tp += r.counts.truePositives;
    fp += r.counts.falsePositives;
    fn += r.counts.falseNegatives;
    normal += r.counts.normalRows;
    alarms += r.alarms;
    blamed += r.blamed;
  }
  const delays = results
    .filter((r) => r.caught)
    .map((r) => r.delay)
    .sort((a, b) => a - b);
  const denominator = 2 * tp + fp + fn;
  return {
    f1: denominator > 0 ? (2 * tp) / denominator : 1,
    falseAlarmRate: normal > 0 ? fp / normal : 0,
    runs: results.length,
    missed: results.filter((r) => !r.caught).map((r) => r.scenario),
    medianDelay: delays.length > 0 ? (delays[Math.floor(delays.length / 2)] as number) : Number.NaN,
    blame: alarms > 0 ? blamed / alarms : Number.NaN,
  };
}
