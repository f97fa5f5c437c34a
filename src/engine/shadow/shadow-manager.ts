/**
 * Shadow runs as a service (docs/shadow.md): start a stored strategy version in shadow, compare
 * it with the active strategies, promote it (through strategy-slots.ts) or discard it. Runs are
 * stored and resumed on restart (`runningShadows`, before the log replay); counters are saved
 * periodically, on close and when a run ends.
 */
import type { Registry } from 'prom-client';
import { isVectorStrategy, compileStrategy } from '../../core/strategy/compile.js';
import { parseStrategy } from '../../core/strategy/parse.js';
import type { Strategy } from '../../core/strategy/schema.js';
import { VigilError } from '../../errors.js';
import type { JsonValue, ShadowRun, Store } from '../../store/store.js';
import type { Engine } from '../engine.js';
import type { ReloadResult, StrategySlots } from '../strategy-slots.js';
import { compareShadow, type ShadowComparison } from './compare.js';
import { shadowKeyPrefix } from './shadow-checkpoints.js';
import { registerShadowMetrics, type ShadowSample } from './shadow-metrics.js';
import { emptyCounters, sumCounters, type ShadowCounters, type ShadowSpec } from './types.js';

/** Most shadowed series kept in a run's saved counters (the comparison's series filter). */
const MAX_SAVED_SERIES = 10_000;
/** Most events per side read for a comparison. */
const MAX_EVENTS = 10_000;

export interface ShadowManagerOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly slots: StrategySlots;
  /** Wall-clock period of saving counters; 0 disables the timer (default 60 s). */
  readonly saveEveryMs?: number;
  readonly log?: (message: string) => void;
  /** Registry for the runs' Prometheus metrics (shadow-metrics.ts); none when absent. */
  readonly registry?: Registry;
}

export interface ShadowRunView {
  readonly run: ShadowRun;
  readonly counters: ShadowCounters;
}

export interface PromoteResult {
  readonly run: ShadowRun;
  /** The strategy change (a cluster node announces it: `status: announced`). */
  readonly reload: Omit<ReloadResult, 'status'> & { readonly status: string };
}

/**
 * What `/v1/shadows` serves (server/shadow-routes.ts): this process's runs (ShadowManager) or a
 * cluster's (cluster/cluster-shadows.ts).
 */
export interface ShadowService {
  start(name: string, version?: number): Promise<ShadowRunView>;
  startYaml(yaml: string, source: string): Promise<ShadowRunView>;
  list(): Promise<ShadowRunView[]>;
  compare(id: number): Promise<ShadowRunView & { readonly comparison: ShadowComparison }>;
  promote(id: number): Promise<PromoteResult>;
  discard(id: number): Promise<ShadowRun>;
}

export const notFound = (id: number): VigilError =>
  new VigilError('VIGIL_ERR_NOT_FOUND', `no shadow run with id ${id}`);

/** Counters saved as JSON back into their type; anything malformed counts as none. */
export function countersFromJson(run: number, value: unknown): ShadowCounters {
  const s = value as Partial<Record<keyof ShadowCounters, unknown>> | null;
  if (s === null || typeof s !== 'object') return emptyCounters(run);
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const time = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  return {
    run,
    points: num(s.points),
    activeNs: num(s.activeNs),
    candidateNs: num(s.candidateNs),
    activeEvents: num(s.activeEvents),
    candidateEvents: num(s.candidateEvents),
    series: num(s.series),
    firstTime: time(s.firstTime),
    lastTime: time(s.lastTime),
    shadowed: Array.isArray(s.shadowed) ? (s.shadowed as [string, string][]) : [],
  };
}

/** A run's saved counters (the run's total when it was saved). */
export const savedCounters = (run: ShadowRun): ShadowCounters =>
  countersFromJson(run.id, run.stats);

/**
 * The part of a running run's counters that a restart does not get back from the candidate's
 * checkpoints (shadow-checkpoints.ts), which carry the rest. Saved by this version as `carried`;
 * counters saved by versions without candidate checkpoints are all carried.
 */
function carriedCounters(run: ShadowRun): ShadowCounters {
  const stats = run.stats as { carried?: unknown } | null;
  if (stats !== null && typeof stats === 'object' && 'carried' in stats) {
    return countersFromJson(run.id, stats.carried);
  }
  return savedCounters(run);
}

export function countersToJson(
  c: ShadowCounters,
  carried: ShadowCounters = emptyCounters(c.run),
): JsonValue {
  const plain = (x: ShadowCounters, shadowed: number) => ({
    points: x.points,
    activeNs: x.activeNs,
    candidateNs: x.candidateNs,
    activeEvents: x.activeEvents,
    candidateEvents: x.candidateEvents,
    series: x.series,
    firstTime: x.firstTime,
    lastTime: x.lastTime,
    shadowed: x.shadowed.slice(0, shadowed),
  });
  return { ...plain(c, MAX_SAVED_SERIES), carried: plain(carried, MAX_SAVED_SERIES) };
}

/**
 * What a shadow start checks before it stores a run, on a single process and on a cluster node:
 * a univariate strategy that compiles, not the active version, not already in shadow (`twinRun`,
 * the run shadowing it now). Returns the candidate's label.
 * @throws VIGIL_ERR_INPUT, VIGIL_ERR_SHADOW_CONFLICT
 */
export function checkShadowCandidate(
  candidate: Strategy,
  active: { readonly strategies: readonly Strategy[]; readonly fallback: Strategy },
  twinRun: number | undefined,
): string {
  const label = `${candidate.name}@${candidate.version}`;
  if (isVectorStrategy(candidate)) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${label} uses the vector detector '${candidate.detector.kind}': shadow runs take univariate strategies only`,
    );
  }
  try {
    compileStrategy(candidate);
  } catch (error) {
    throw new VigilError('VIGIL_ERR_INPUT', `${label} cannot be compiled: ${String(error)}`, {
      cause: error,
    });
  }
  const { strategies, fallback } = active;
  if (
    [...strategies, fallback].some(
      (s) => s.name === candidate.name && s.version === candidate.version,
    )
  ) {
    throw new VigilError(
      'VIGIL_ERR_SHADOW_CONFLICT',
      `${label} is the active version: shadow another version of ${candidate.name}`,
    );
  }
  if (twinRun !== undefined) {
    throw new VigilError(
      'VIGIL_ERR_SHADOW_CONFLICT',
      `${label} is already in shadow (run ${twinRun}): discard that run first`,
    );
  }
  return label;
}

/**
 * A run's comparison from what is stored: its candidate events against the live events on the
 * series it shadowed that started while it scored them (single process and cluster nodes alike).
 */
export async function storedComparison(
  store: Store,
  id: number,
  c: ShadowCounters,
): Promise<ShadowComparison> {
  if (c.firstTime === null) return compareShadow(c, [], []);
  const candidate = await store.querier.events({ shadowRun: id, limit: MAX_EVENTS });
  const from = c.firstTime;
  const to = (c.lastTime as number) + 1;
  const series = new Set(c.shadowed.map(([d, m]) => `${d}\u0000${m}`));
  const active = (await store.querier.events({ from, to, limit: MAX_EVENTS })).filter(
    (e) =>
      e.metric !== null &&
      e.start >= from &&
      e.start < to &&
      series.has(`${e.device}\u0000${e.metric}`),
  );
  return compareShadow(c, active, candidate);
}

/** A stored strategy version as a shadow candidate, or an error naming what is wrong. */
export async function loadCandidate(
  store: Store,
  name: string,
  version?: number,
): Promise<Strategy> {
  const stored =
    version === undefined
      ? await store.strategies.latest(name)
      : await store.strategies.get(name, version);
  if (stored === undefined) {
    throw new VigilError(
      'VIGIL_ERR_STRATEGY_NOT_FOUND',
      version === undefined
        ? `no stored strategy ${JSON.stringify(name)}: upload it first (PUT /v1/strategies/${name})`
        : `no stored strategy ${name}@${version}`,
    );
  }
  return parseStrategy(stored.yaml, `${stored.name}@${stored.version} (stored)`);
}

/** The running runs of a store, as the engine should score them from its start. */
export async function runningShadows(
  store: Store,
  log: (message: string) => void = () => undefined,
): Promise<ShadowSpec[]> {
  const specs: ShadowSpec[] = [];
  for (const run of await store.shadows.list('running')) {
    try {
      specs.push({ run: run.id, strategy: await loadCandidate(store, run.strategy, run.version) });
      log(`shadow run ${run.id} (${run.strategy}@${run.version}) resumed`);
    } catch (error) {
      log(`shadow run ${run.id} (${run.strategy}@${run.version}) cannot resume: ${String(error)}`);
    }
  }
  return specs.sort((a, b) => a.run - b.run);
}

export class ShadowManager implements ShadowService {
  private readonly engine: Engine;
  private readonly store: Store;
  private readonly slots: StrategySlots;
  private readonly log: (message: string) => void;
  private readonly timer: NodeJS.Timeout | undefined;
  /** Counters saved by earlier processes, by run (this process's are added to them). */
  private readonly baseline = new Map<number, ShadowCounters>();
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(options: ShadowManagerOptions) {
    this.engine = options.engine;
    this.store = options.store;
    this.slots = options.slots;
    this.log = options.log ?? (() => undefined);
    const every = options.saveEveryMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.saveCounters().catch((error: unknown) =>
          this.log(`saving shadow counters failed: ${String(error)}`),
        );
      }, every);
      this.timer.unref();
    }
  }

  /**
   * A manager for the engine's runs; running runs the engine does not score yet are started
   * (without their checkpointed candidate state: the engine restores it only for the runs it
   * is created with, as `vigil serve` does).
   */
  static async open(options: ShadowManagerOptions): Promise<ShadowManager> {
    const manager = new ShadowManager(options);
    const running = await options.store.shadows.list('running');
    const scoring = new Set(options.engine.shadows.runs().map((s) => s.run));
    for (const run of running) {
      // A run the engine resumed got its candidate state and counts from its checkpoints.
      manager.baseline.set(run.id, scoring.has(run.id) ? carriedCounters(run) : savedCounters(run));
    }
    const fresh = running.filter((r) => !scoring.has(r.id));
    if (fresh.length > 0) {
      // Their old candidate checkpoints are stale now (their counts are in the baseline).
      for (const run of fresh) await manager.deleteCheckpoints(run.id);
      await options.engine.shadows.set(await runningShadows(options.store, manager.log));
    }
    if (options.registry !== undefined) {
      registerShadowMetrics(options.registry, () => manager.metricsSample());
    }
    return manager;
  }

  private async deleteCheckpoints(run: number): Promise<void> {
    await this.store.checkpoints.deletePrefix(shadowKeyPrefix(run)).catch((error: unknown) =>
      // Harmless: checkpoints of a run not running are ignored at start.
      this.log(`deleting the candidate checkpoints of shadow run ${run} failed: ${String(error)}`),
    );
  }

  /** What /metrics shows: the counters of the runs scoring now, with their candidate. */
  private async metricsSample(): Promise<ShadowSample[]> {
    const specs = this.engine.shadows.runs();
    const counters = await this.countersOf(specs.map((s) => s.run));
    return specs.map((s) => ({
      run: s.run,
      strategy: `${s.strategy.name}@${s.strategy.version}`,
      counters: counters.get(s.run) ?? emptyCounters(s.run),
    }));
  }

  /** One change at a time, so two requests never race on the engine's run set. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Start a stored version in shadow (the latest when `version` is not given).
   * @throws VIGIL_ERR_STRATEGY_NOT_FOUND, VIGIL_ERR_INPUT (vector strategy, cannot compile),
   *   VIGIL_ERR_SHADOW_CONFLICT (the version is active, or already in shadow)
   */
  start(name: string, version?: number): Promise<ShadowRunView> {
    return this.serial(async () => {
      const candidate = await loadCandidate(this.store, name, version);
      const current = this.engine.shadows.runs();
      const twin = current.find(
        (s) => s.strategy.name === candidate.name && s.strategy.version === candidate.version,
      );
      const label = checkShadowCandidate(candidate, this.engine.routing.active(), twin?.run);
      const run = await this.store.shadows.create({
        strategy: candidate.name,
        version: candidate.version,
      });
      this.baseline.set(run.id, emptyCounters(run.id));
      await this.engine.shadows.set([...current, { run: run.id, strategy: candidate }]);
      this.log(`shadow run ${run.id}: ${label} started`);
      return { run, counters: emptyCounters(run.id) };
    });
  }

  /**
   * Store a new strategy version (YAML) without making it active, and start it in shadow.
   * @throws VIGIL_ERR_STRATEGY_INVALID, VIGIL_ERR_STORE_CONFLICT, and as `start`
   */
  async startYaml(yaml: string, source: string): Promise<ShadowRunView> {
    const strategy = parseStrategy(yaml, source);
    await this.store.strategies.save({ name: strategy.name, version: strategy.version, yaml });
    return this.start(strategy.name, strategy.version);
  }

  /** Baseline plus this process's counters, for every run given. */
  private async countersOf(runs: readonly number[]): Promise<Map<number, ShadowCounters>> {
    const live = new Map((await this.engine.shadows.counters()).map((c) => [c.run, c]));
    const out = new Map<number, ShadowCounters>();
    for (const id of runs) {
      const parts = [this.baseline.get(id) ?? emptyCounters(id), live.get(id)];
      const [sum] = sumCounters(parts.filter((p): p is ShadowCounters => p !== undefined));
      const seen = new Set<string>();
      const shadowed = (sum?.shadowed ?? []).filter(([d, m]) => {
        const key = `${d}\u0000${m}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      out.set(id, { ...(sum ?? emptyCounters(id)), series: shadowed.length, shadowed });
    }
    return out;
  }

  async list(): Promise<ShadowRunView[]> {
    const runs = await this.store.shadows.list();
    const counters = await this.countersOf(
      runs.filter((r) => r.status === 'running').map((r) => r.id),
    );
    return runs.map((run) => ({ run, counters: counters.get(run.id) ?? savedCounters(run) }));
  }

  private async getRun(id: number): Promise<ShadowRun> {
    const run = await this.store.shadows.get(id);
    if (run === undefined) throw notFound(id);
    return run;
  }

  /** The run with its side-by-side comparison. */
  async compare(id: number): Promise<ShadowRunView & { readonly comparison: ShadowComparison }> {
    await this.engine.flush();
    const run = await this.getRun(id);
    const counters =
      run.status === 'running'
        ? ((await this.countersOf([id])).get(id) as ShadowCounters)
        : savedCounters(run);
    return { run, counters, comparison: await storedComparison(this.store, id, counters) };
  }

  private async end(run: ShadowRun, status: 'promoted' | 'discarded'): Promise<ShadowRun> {
    const counters = (await this.countersOf([run.id])).get(run.id) as ShadowCounters;
    await this.engine.shadows.set(this.engine.shadows.runs().filter((s) => s.run !== run.id));
    const ended = (await this.store.shadows.end(run.id, status, countersToJson(counters))) ?? run;
    this.baseline.delete(run.id);
    await this.deleteCheckpoints(run.id);
    // The run's open events were closed when it stopped: store them now.
    await this.engine.flush();
    return ended;
  }

  private running(run: ShadowRun): void {
    if (run.status !== 'running') {
      throw new VigilError(
        'VIGIL_ERR_SHADOW_CONFLICT',
        `shadow run ${run.id} (${run.strategy}@${run.version}) was already ${run.status}`,
      );
    }
  }

  /**
   * Make the candidate active through the staged health check and swap; the run ends promoted.
   * A failed check (VIGIL_ERR_STRATEGY_REJECTED) leaves the run in shadow.
   */
  promote(id: number): Promise<PromoteResult> {
    return this.serial(async () => {
      const run = await this.getRun(id);
      this.running(run);
      const reload = await this.slots.rollback(run.strategy, run.version);
      const ended = await this.end(run, 'promoted');
      this.log(`shadow run ${id}: ${run.strategy}@${run.version} promoted (active now)`);
      return { run: ended, reload };
    });
  }

  discard(id: number): Promise<ShadowRun> {
    return this.serial(async () => {
      const run = await this.getRun(id);
      this.running(run);
      const ended = await this.end(run, 'discarded');
      this.log(`shadow run ${id}: ${run.strategy}@${run.version} discarded`);
      return ended;
    });
  }

  /** Save the running runs' counters (periodically, and on close). */
  saveCounters(): Promise<void> {
    return this.serial(async () => {
      const running = await this.store.shadows.list('running');
      const counters = await this.countersOf(running.map((r) => r.id));
      for (const [id, c] of counters) {
        await this.store.shadows.saveStats(id, countersToJson(c, this.baseline.get(id)));
      }
    });
  }

  /** Stop the timer and save counters; call before closing the engine. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    // Shutdown goes on without them: a restart resumes the runs, short of the last counts.
    await this.saveCounters().catch((error: unknown) =>
      this.log(`saving shadow counters failed: ${String(error)}`),
    );
  }
}
