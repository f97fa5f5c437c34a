/**
 * `/v1/shadows` on a cluster node (docs/cluster.md, "Shadow runs"): the same requests, checks and
 * answers as the single process (engine/shadow/shadow-manager.ts), but a run is stored in the
 * shared store and announced in the KV bucket (shadow-announcements.ts) for every scorer to score
 * on its partitions; its counters are the sum of what the partitions' owners publish there.
 * Promotion goes through the cluster's strategy change path (cluster-strategies.ts).
 */
import type { KV } from '@nats-io/kv';
import { parseStrategy } from '../core/strategy/parse.js';
import type { ShadowComparison } from '../engine/shadow/compare.js';
import { shadowKeyPrefix } from '../engine/shadow/shadow-checkpoints.js';
import {
  checkShadowCandidate,
  countersToJson,
  loadCandidate,
  notFound,
  savedCounters,
  storedComparison,
  type PromoteResult,
  type ShadowRunView,
  type ShadowService,
} from '../engine/shadow/shadow-manager.js';
import { emptyCounters, type ShadowCounters } from '../engine/shadow/types.js';
import { VigilError } from '../errors.js';
import type { ShadowRun, Store } from '../store/store.js';
import type { ClusterStrategies } from './cluster-strategies.js';
import {
  announceShadowRun,
  clusterShadowCounters,
  retireShadowRun,
} from './shadow-announcements.js';

export class ClusterShadows implements ShadowService {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kv: KV,
    private readonly store: Store,
    private readonly strategies: ClusterStrategies,
    private readonly log: (message: string) => void,
  ) {}

  /** One change at a time on this node (two nodes racing may both start a version). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  start(name: string, version?: number): Promise<ShadowRunView> {
    return this.serial(async () => {
      const candidate = await loadCandidate(this.store, name, version);
      const twin = (await this.store.shadows.list('running')).find(
        (r) => r.strategy === candidate.name && r.version === candidate.version,
      );
      const label = checkShadowCandidate(candidate, this.strategies.active(), twin?.id);
      const run = await this.store.shadows.create({
        strategy: candidate.name,
        version: candidate.version,
      });
      await announceShadowRun(this.kv, run.id, label);
      this.log(`shadow run ${run.id}: ${label} announced to the scorers`);
      return { run, counters: emptyCounters(run.id) };
    });
  }

  async startYaml(yaml: string, source: string): Promise<ShadowRunView> {
    const strategy = parseStrategy(yaml, source);
    await this.store.strategies.save({ name: strategy.name, version: strategy.version, yaml });
    return this.start(strategy.name, strategy.version);
  }

  private async counters(run: ShadowRun): Promise<ShadowCounters> {
    return run.status === 'running' ? clusterShadowCounters(this.kv, run.id) : savedCounters(run);
  }

  async list(): Promise<ShadowRunView[]> {
    const runs = await this.store.shadows.list();
    return Promise.all(runs.map(async (run) => ({ run, counters: await this.counters(run) })));
  }

  private async getRun(id: number): Promise<ShadowRun> {
    const run = await this.store.shadows.get(id);
    if (run === undefined) throw notFound(id);
    return run;
  }

  async compare(id: number): Promise<ShadowRunView & { readonly comparison: ShadowComparison }> {
    const run = await this.getRun(id);
    const counters = await this.counters(run);
    return { run, counters, comparison: await storedComparison(this.store, id, counters) };
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
   * End the run in the store with the cluster's counters, then tell the scorers (each closes the
   * run's open events on its partitions) and drop its candidate checkpoints.
   */
  private async end(run: ShadowRun, status: 'promoted' | 'discarded'): Promise<ShadowRun> {
    const counters = await clusterShadowCounters(this.kv, run.id);
    const ended = (await this.store.shadows.end(run.id, status, countersToJson(counters))) ?? run;
    await retireShadowRun(this.kv, run.id);
    await this.store.checkpoints.deletePrefix(shadowKeyPrefix(run.id)).catch((error: unknown) =>
      // Harmless: checkpoints of a run not running are ignored at start.
      this.log(
        `deleting the candidate checkpoints of shadow run ${run.id} failed: ${String(error)}`,
      ),
    );
    return ended;
  }

  /**
   * Make the candidate active cluster-wide: announced like a rollback to its version, then each
   * scorer health-checks and swaps it in on its partitions. A candidate that cannot be built is
   * refused (409 VIGIL_ERR_STRATEGY_REJECTED) and the run keeps shadowing.
   */
  promote(id: number): Promise<PromoteResult> {
    return this.serial(async () => {
      const run = await this.getRun(id);
      this.running(run);
      const reload = await this.strategies.rollback(run.strategy, run.version);
      const ended = await this.end(run, 'promoted');
      this.log(`shadow run ${id}: ${run.strategy}@${run.version} promoted (announced)`);
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
}
