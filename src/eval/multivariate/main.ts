import { strategySchema, type Strategy } from '../../core/strategy/schema.js';
import { vectorDetectorFactories } from '../../core/detectors/multivariate/vector-registry.js';
import { resolveStrategy } from '../../strategy-files/load.js';
import { MACHINE_FAULTS } from './machines.js';
import { longScenarios, shortScenarios, type Scenario } from './scenarios.js';
import { evaluate, summarise, type RunResult } from './evaluate.js';
import { scenarioModel } from './models.js';

/**
 * `npm run eval:multivariate`: every vector detector (defaults, static threshold; `onnx` with a
 * vector autoencoder trained on each run's training rows, models.ts) and the
 * built-in `multivariate` strategy on the synthetic machines of scenarios.ts, one table each for
 * the short and the long runs, then the faults each one missed. `--short` skips the long runs.
 * Targets (issue 16): F1 ≥ 0.85, false-alarm rate ≤ 5 %, every fault kind caught, blame ≥ 90 %.
 */

function detectorStrategy(kind: string, params?: Record<string, unknown>): Strategy {
  return strategySchema.parse({
    name: `eval-${kind}`,
    version: 1,
    description: `${kind} with its defaults and the static threshold`,
    detector: params === undefined ? { kind } : { kind, params },
    threshold: { kind: 'static' },
  });
}

/** A strategy per scenario: `onnx` needs a model trained on that run's training rows. */
type StrategyFor = (scenario: Scenario) => Strategy;

function detectorStrategies(): [string, StrategyFor][] {
  return Object.keys(vectorDetectorFactories).map((kind): [string, StrategyFor] => {
    if (kind !== 'onnx') {
      const strategy = detectorStrategy(kind);
      return [kind, () => strategy];
    }
    return [kind, (scenario) => detectorStrategy(kind, { model: scenarioModel(scenario) })];
  });
}

const pct = (x: number): string => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)} %`);

function table(title: string, rows: readonly [string, readonly RunResult[]][]): void {
  console.log(`\n${title}`);
  console.log('| strategy | F1 | false alarms | missed | median delay (s) | blame |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, results] of rows) {
    const s = summarise(results);
    const delay = Number.isNaN(s.medianDelay) ? '—' : String(s.medianDelay);
    console.log(
      `| ${name} | ${s.f1.toFixed(3)} | ${pct(s.falseAlarmRate)} | ${s.missed.length}/${s.runs} | ${delay} | ${pct(s.blame)} |`,
    );
  }
}

function byFault(rows: readonly [string, readonly RunResult[]][]): void {
  console.log('\nper fault kind: F1 / caught runs');
  console.log(`| strategy | ${MACHINE_FAULTS.join(' | ')} |`);
  console.log(`|---|${MACHINE_FAULTS.map(() => '---').join('|')}|`);
  for (const [name, results] of rows) {
    const cells = MACHINE_FAULTS.map((fault) => {
      const mine = results.filter((r) => r.fault === fault);
      if (mine.length === 0) return '—';
      const caught = mine.filter((r) => r.caught).length;
      return `${summarise(mine).f1.toFixed(2)} / ${caught}/${mine.length}`;
    });
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
}

/** The value after `--name` on the command line, if any. */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** `--only a,b`: keep the strategies named (detector kinds, or `multivariate (built-in)`). */
function selected(strategies: [string, StrategyFor][]): [string, StrategyFor][] {
  const only = option('--only')?.split(',');
  return only ? strategies.filter(([name]) => only.some((o) => name.startsWith(o))) : strategies;
}

/** `--runs`: one line per run (F1, false alarms, delay, blame), to see where a table comes from. */
function byRun(rows: readonly [string, readonly RunResult[]][]): void {
  console.log('\nper run: F1 / false alarms (rows) / delay / blame');
  for (const [name, results] of rows) {
    for (const r of results) {
      const s = summarise([r]);
      console.log(
        `${name} ${r.scenario}: F1 ${s.f1.toFixed(3)}, false ${r.counts.falsePositives}/${r.counts.normalRows}, delay ${Number.isNaN(r.delay) ? '—' : r.delay}, blame ${pct(s.blame)}`,
      );
    }
  }
}

async function main(): Promise<void> {
  const short = process.argv.includes('--short');
  const longOnly = process.argv.includes('--long');
  const strategies = detectorStrategies();
  const builtIn = await resolveStrategy('multivariate');
  strategies.push(['multivariate (built-in)', () => builtIn]);
  const suites: [string, Scenario[]][] = [];
  if (!longOnly) suites.push(['short runs (1,200 rows, 400 trained)', shortScenarios()]);
  if (!short) suites.push(['long runs (3 days, 1 trained)', longScenarios()]);
  const chosen = selected(strategies);
  const all: [string, RunResult[]][] = chosen.map(([name]) => [name, []]);
  for (const [title, scenarios] of suites) {
    const rows: [string, RunResult[]][] = chosen.map(([name, strategy]) => [
      name,
      scenarios.map((scenario) => evaluate(strategy(scenario), scenario)),
    ]);
    table(title, rows);
    rows.forEach(([, results], k) => all[k]![1].push(...results));
  }
  byFault(all);
  if (process.argv.includes('--runs')) byRun(all);
  for (const [name, results] of all) {
    const missed = results.filter((r) => !r.caught).map((r) => r.scenario);
    if (missed.length > 0) console.log(`${name} missed: ${missed.join(', ')}`);
  }
}

await main();
