/**
 * Hot reload of strategies (docs/engine.md, "Hot reload"): a change is stored, compiled into a
 * staging slot, health-checked on the recent points of the series it would take over, and only
 * then swapped in — atomically, between two points. A failed check leaves the active version
 * scoring. One change at a time: changes queue behind each other.
 */
import { VigilError } from '../errors.js';
import { compileStrategy, isVectorStrategy } from '../core/strategy/compile.js';
import { checkOnnxModels } from '../core/detectors/multivariate/onnx-autoencoder.js';
import { parseStrategy } from '../core/strategy/parse.js';
import type { SeriesPipeline } from '../core/strategy/pipeline.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { Store } from '../store/store.js';
import type { RoutedSeries } from './scoring/protocol.js';
import type { Engine } from './engine.js';

export interface StrategySlotsOptions {
  readonly engine: Engine;
  readonly store: Store;
  /** Recent stored points replayed per series in the health check (default 500). */
  readonly replayPoints?: number;
  /** The check fails when this share of replayed points or more is flagged (default 0.2). */
  readonly maxFlaggedShare?: number;
  /** Most series replayed per check; the others move with a fresh pipeline (default 1000). */
  readonly maxReplaySeries?: number;
  readonly log?: (message: string) => void;
  /** Called for every change that was not made active (the metric hook). */
  readonly onFailure?: (strategy: string, reason: string) => void;
}

export interface HealthReport {
  /** Series replayed, points replayed, and how many of them the candidate flagged. */
  readonly series: number;
  readonly points: number;
  readonly flagged: number;
}

export interface ReloadResult {
  readonly name: string;
  readonly version: number;
  /** `active`: swapped in now; `unchanged`: this exact version was already active. */
  readonly status: 'active' | 'unchanged';
  /** Series that changed strategy at the swap. */
  readonly moved: number;
  readonly check: HealthReport;
}

const label = (s: Strategy): string => `${s.name}@${s.version}`;
const NONE: HealthReport = { series: 0, points: 0, flagged: 0 };

/** Thrown when a change is not made active; the active version keeps scoring. */
export function rejected(message: string): VigilError {
  return new VigilError('VIGIL_ERR_STRATEGY_REJECTED', message);
}

/** A stored version of a strategy, to roll back to; `VIGIL_ERR_STRATEGY_NOT_FOUND` without it. */
export async function storedStrategy(
  store: Store,
  name: string,
  version: number,
): Promise<Strategy> {
  const stored = await store.strategies.get(name, version);
  if (stored === undefined) {
    throw new VigilError('VIGIL_ERR_STRATEGY_NOT_FOUND', `no stored strategy ${name}@${version}`);
  }
  return parseStrategy(stored.yaml, `${name}@${version} (stored)`);
}

export class StrategySlots {
  private readonly engine: Engine;
  private readonly store: Store;
  private readonly replayPoints: number;
  private readonly maxFlaggedShare: number;
  private readonly maxReplaySeries: number;
  private readonly log: (message: string) => void;
  private readonly onFailure: (strategy: string, reason: string) => void;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: StrategySlotsOptions) {
    this.engine = options.engine;
    this.store = options.store;
    this.replayPoints = options.replayPoints ?? 500;
    this.maxFlaggedShare = options.maxFlaggedShare ?? 0.2;
    this.maxReplaySeries = options.maxReplaySeries ?? 1000;
    this.log = options.log ?? (() => undefined);
    this.onFailure = options.onFailure ?? (() => undefined);
  }

  /** The active strategies in routing order, then the default. */
  active(): { readonly strategies: readonly Strategy[]; readonly fallback: Strategy } {
    return this.engine.routing.active();
  }

  /**
   * A new or changed strategy (from a file or the API). Stored first (every version is kept);
   * made active if its version is above the active one of that name and it passes the check.
   * @throws VIGIL_ERR_STRATEGY_REJECTED, VIGIL_ERR_STORE_CONFLICT (same version, other YAML)
   */
  propose(strategy: Strategy, yaml: string, source: string): Promise<ReloadResult> {
    return this.serial(async () => {
      await this.store.strategies.save({
        name: strategy.name,
        version: strategy.version,
        yaml,
      });
      const current = this.activeVersion(strategy.name);
      if (current !== undefined && strategy.version === current) {
        return { ...this.unchanged(strategy) };
      }
      if (current !== undefined && strategy.version < current) {
        throw this.fail(
          strategy.name,
          `${source}: ${label(strategy)} not made active: version ${current} is active; ` +
            'raise `version` (or roll back by API)',
        );
      }
      return this.activate(strategy, source);
    });
  }

  /** Make a stored version active again (through the same check). */
  rollback(name: string, version: number): Promise<ReloadResult> {
    return this.serial(async () => {
      const strategy = await storedStrategy(this.store, name, version);
      if (this.activeVersion(name) === version) return this.unchanged(strategy);
      return this.activate(strategy, `rollback to ${name}@${version}`);
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private activeVersion(name: string): number | undefined {
    const { strategies, fallback } = this.active();
    return [...strategies, fallback].find((s) => s.name === name)?.version;
  }

  private unchanged(strategy: Strategy): ReloadResult {
    return {
      name: strategy.name,
      version: strategy.version,
      status: 'unchanged',
      moved: 0,
      check: NONE,
    };
  }

  private fail(name: string, reason: string): VigilError {
    this.log(reason);
    this.onFailure(name, reason);
    return rejected(reason);
  }

  /** Staging → check → swap. */
  private async activate(candidate: Strategy, source: string): Promise<ReloadResult> {
    const { strategies, fallback } = this.active();
    let nextFallback = fallback;
    let next = strategies;
    if (candidate.name === fallback.name) nextFallback = candidate;
    else {
      // Routing order: by name, so it does not depend on when each change arrived.
      next = [...strategies.filter((s) => s.name !== candidate.name), candidate].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
    }
    // Staging: compile now, so a strategy that cannot be built never reaches the engine.
    let make: ((key: string) => SeriesPipeline) | undefined;
    try {
      if (isVectorStrategy(candidate)) {
        checkOnnxModels(candidate.detector.kind, candidate.detector.params);
      } else make = compileStrategy(candidate);
    } catch (error) {
      throw this.fail(
        candidate.name,
        `${source}: ${label(candidate)} cannot be compiled: ${String(error)}`,
      );
    }
    const moving = (await this.engine.routing.plan(next, nextFallback)).filter(
      (s) => s.to === label(candidate),
    );
    const warm = new Map<string, SeriesPipeline>();
    const check = make === undefined ? NONE : await this.replay(moving, make, warm);
    if (check.points > 0) {
      const share = check.flagged / check.points;
      if (share >= this.maxFlaggedShare) {
        throw this.fail(
          candidate.name,
          `${source}: ${label(candidate)} failed its health check: it flagged ` +
            `${check.flagged} of ${check.points} recent points (${(share * 100).toFixed(1)} %, ` +
            `the bound is ${(this.maxFlaggedShare * 100).toFixed(1)} %); the active version keeps scoring`,
        );
      }
    }
    const moved = await this.engine.routing.commit(next, nextFallback, warm);
    this.log(
      `${source}: ${label(candidate)} active (${moved} series moved, health check replayed ` +
        `${check.points} points of ${check.series} series, ${check.flagged} flagged)`,
    );
    return { name: candidate.name, version: candidate.version, status: 'active', moved, check };
  }

  /** Replay the recent stored points of each moving series through a fresh pipeline. */
  private async replay(
    moving: readonly RoutedSeries[],
    make: (key: string) => SeriesPipeline,
    warm: Map<string, SeriesPipeline>,
  ): Promise<HealthReport> {
    let series = 0;
    let points = 0;
    let flagged = 0;
    for (const s of moving.slice(0, this.maxReplaySeries)) {
      if (!Number.isFinite(s.last)) continue;
      const { times, values } = await this.recent(s.device, s.metric, s.last);
      const pipeline = make(`${s.device}/${s.metric}`);
      for (let i = 0; i < times.length; i++) {
        const score = pipeline.process(times[i] as number, values[i] as number);
        if (!Number.isFinite(score)) {
          throw this.fail(
            s.to.slice(0, s.to.lastIndexOf('@')),
            `${s.to} failed its health check: non-finite score ${score} on ` +
              `${s.device}/${s.metric} at ${new Date(times[i] as number).toISOString()}; ` +
              'the active version keeps scoring',
          );
        }
        if (pipeline.lastLevel !== 'ok') flagged++;
      }
      points += times.length;
      series++;
      warm.set(`${s.device}\u0000${s.metric}`, pipeline);
    }
    return { series, points, flagged };
  }

  /** The last `replayPoints` stored points of a series at or before `last`, oldest first. */
  private async recent(
    device: string,
    metric: string,
    last: number,
  ): Promise<{ times: Float64Array; values: Float64Array }> {
    const [info] = (await this.store.querier.series(device)).filter((s) => s.metric === metric);
    const empty = { times: new Float64Array(0), values: new Float64Array(0) };
    if (info === undefined) return empty;
    const to = Math.min(last, info.last) + 1;
    // Widen a window back from the end until it holds enough points or covers the series.
    for (let span = 3_600_000; ; span *= 4) {
      const from = Math.max(info.first, to - span);
      const raw = await this.store.querier.points({ device, metric, from, to, limit: 100_000 });
      if (raw.kind !== 'raw') return empty;
      if (raw.times.length >= this.replayPoints || from <= info.first || raw.truncated) {
        const start = Math.max(0, raw.times.length - this.replayPoints);
        return { times: raw.times.subarray(start), values: raw.values.subarray(start) };
      }
    }
  }
}
