/**
 * `PUT /v1/strategies/:name` and rollback on a cluster node (docs/cluster.md, "Strategy
 * changes"): the change is validated and compiled (staging) here, stored in the shared store,
 * and announced in the KV bucket; each scorer then health-checks it on its partitions' series and
 * swaps it in. The answer is `status: announced` (or `unchanged`).
 */
import type { KV } from '@nats-io/kv';
import { compileStrategy, isVectorStrategy } from '../core/strategy/compile.js';
import { checkOnnxModels } from '../core/detectors/multivariate/onnx-autoencoder.js';
import { parseStrategy } from '../core/strategy/parse.js';
import type { Strategy } from '../core/strategy/schema.js';
import { rejected, storedStrategy } from '../engine/strategy-slots.js';
import { VigilError } from '../errors.js';
import type { StrategyChange, StrategyChanges } from '../server/strategy-routes.js';
import type { Store } from '../store/store.js';
import { announce, announced, watchAnnouncements } from './strategy-announcements.js';

const NONE = { series: 0, points: 0, flagged: 0 };
const byName = (a: Strategy, b: Strategy): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

export class ClusterStrategies implements StrategyChanges {
  /** The active set as this node last saw it announced (start strategies until then). */
  private readonly current = new Map<string, Strategy>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopWatch: () => void = () => undefined;

  private constructor(
    private readonly kv: KV,
    private readonly store: Store,
    start: readonly Strategy[],
    private readonly fallbackName: string,
    private readonly log: (message: string) => void,
    private readonly onFailure: (strategy: string) => void,
  ) {
    for (const s of start) this.current.set(s.name, s);
  }

  static async open(options: {
    readonly kv: KV;
    readonly store: Store;
    readonly strategies: readonly Strategy[];
    readonly fallback: Strategy;
    readonly log: (message: string) => void;
    /** Counted for every change refused here (the metric hook). */
    readonly onFailure?: (strategy: string) => void;
  }): Promise<ClusterStrategies> {
    const { kv, store, strategies, fallback, log } = options;
    const changes = new ClusterStrategies(
      kv,
      store,
      [...strategies, fallback],
      fallback.name,
      log,
      options.onFailure ?? (() => undefined),
    );
    changes.stopWatch = await watchAnnouncements(
      kv,
      (name, version) => {
        void changes.seen(name, version);
      },
      log,
    );
    return changes;
  }

  close(): void {
    this.stopWatch();
  }

  private async seen(name: string, version: number): Promise<void> {
    if (this.current.get(name)?.version === version) return;
    const stored = await this.store.strategies.get(name, version).catch(() => undefined);
    if (stored === undefined) {
      this.log(`strategy ${name}@${version} announced but not in the store`);
      return;
    }
    this.current.set(name, parseStrategy(stored.yaml, `${name}@${version} (stored)`));
  }

  active(): { readonly strategies: readonly Strategy[]; readonly fallback: Strategy } {
    const all = [...this.current.values()];
    return {
      strategies: all.filter((s) => s.name !== this.fallbackName).sort(byName),
      fallback: this.current.get(this.fallbackName) as Strategy,
    };
  }

  propose(strategy: Strategy, yaml: string, source: string): Promise<StrategyChange> {
    return this.serial(async () => {
      await this.store.strategies.save({ name: strategy.name, version: strategy.version, yaml });
      const now = await announced(this.kv, strategy.name);
      const current = now?.version ?? this.current.get(strategy.name)?.version;
      if (current !== undefined && strategy.version === current) return unchanged(strategy);
      if (current !== undefined && strategy.version < current) {
        throw this.fail(
          strategy.name,
          `${source}: ${strategy.name}@${strategy.version} not made active: version ${current} ` +
            'is active; raise `version` (or roll back by API)',
        );
      }
      return this.announce(strategy, now?.revision, source);
    });
  }

  rollback(name: string, version: number): Promise<StrategyChange> {
    return this.serial(async () => {
      const strategy = await storedStrategy(this.store, name, version);
      const now = await announced(this.kv, name);
      if ((now?.version ?? this.current.get(name)?.version) === version) return unchanged(strategy);
      return this.announce(strategy, now?.revision, `rollback to ${name}@${version}`);
    });
  }

  private async announce(
    strategy: Strategy,
    revision: number | undefined,
    source: string,
  ): Promise<StrategyChange> {
    // Staging: a strategy that cannot be built is never announced.
    try {
      if (isVectorStrategy(strategy)) {
        checkOnnxModels(strategy.detector.kind, strategy.detector.params);
      } else compileStrategy(strategy);
    } catch (error) {
      throw this.fail(
        strategy.name,
        `${source}: ${strategy.name}@${strategy.version} cannot be compiled: ${String(error)}`,
      );
    }
    try {
      await announce(this.kv, strategy.name, strategy.version, revision);
    } catch (error) {
      // Every node watching one mounted directory proposes the same file at once: the
      // version another node announced meanwhile is this one (a stored version's YAML is fixed).
      const now = await announced(this.kv, strategy.name);
      if (now?.version !== strategy.version) throw error;
      return unchanged(strategy);
    }
    this.current.set(strategy.name, strategy);
    this.log(`${source}: ${strategy.name}@${strategy.version} announced to the scorers`);
    return {
      name: strategy.name,
      version: strategy.version,
      status: 'announced',
      moved: 0,
      check: NONE,
    };
  }

  private fail(name: string, reason: string): VigilError {
    this.log(reason);
    this.onFailure(name);
    return rejected(reason);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function unchanged(strategy: Strategy): StrategyChange {
  return {
    name: strategy.name,
    version: strategy.version,
    status: 'unchanged',
    moved: 0,
    check: NONE,
  };
}
