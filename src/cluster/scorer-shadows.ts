/**
 * A scorer's side of cluster-wide shadow runs (docs/cluster.md, "Shadow runs"): its partitions
 * score the store's running runs (read before it leases any partition, and again whenever a run
 * key of the KV bucket changes), and it publishes each partition's counters of each run there
 * for any node to sum: every `everyMs` when they changed (and every tenth period regardless, so
 * a value left by a partition's previous owner is soon replaced), and when a partition stops.
 * Every tenth period it also reads the running runs again, so a watch lost with the NATS
 * connection delays a change by that much at most.
 */
import type { KV } from '@nats-io/kv';
import { runningShadows } from '../engine/shadow/shadow-manager.js';
import type { ShadowCounters } from '../engine/shadow/types.js';
import type { Store } from '../store/store.js';
import type { ScorerRunner } from './scorer.js';
import { publishShadowCounters, watchShadowRuns } from './shadow-announcements.js';

export interface ScorerShadowsOptions {
  readonly kv: KV;
  readonly store: Store;
  readonly runner: ScorerRunner;
  /** Period of publishing counters (default 1 s). */
  readonly everyMs?: number;
  readonly warn: (message: string) => void;
}

export class ScorerShadows {
  /** The last value published, by KV key. */
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private periods = 0;
  private stopWatch: () => void = () => undefined;
  /** Reconciling: one at a time, and one more queued at most (a burst of changes is one read). */
  private reading: Promise<void> = Promise.resolve();
  private queued = false;
  private publishing: Promise<void> = Promise.resolve();

  private constructor(private readonly options: ScorerShadowsOptions) {}

  /** Read the running runs, then follow the bucket; call before leasing partitions. */
  static async open(options: ScorerShadowsOptions): Promise<ScorerShadows> {
    const sync = new ScorerShadows(options);
    await sync.reconcile();
    sync.stopWatch = await watchShadowRuns(options.kv, () => void sync.changed(), options.warn);
    const every = options.everyMs ?? 1000;
    sync.timer = setInterval(() => void sync.publishAll(), every);
    sync.timer.unref();
    return sync;
  }

  private changed(): Promise<void> {
    if (this.queued) return this.reading;
    this.queued = true;
    this.reading = this.reading.then(() => {
      this.queued = false;
      return this.reconcile();
    });
    return this.reading;
  }

  private async reconcile(): Promise<void> {
    try {
      await this.options.runner.setShadows(
        await runningShadows(this.options.store, this.options.warn),
      );
    } catch (error) {
      this.options.warn(`shadow runs not updated: ${String(error)}`);
    }
  }

  /** Publish a partition's counters (changed ones, or all when `force`). */
  async publish(partition: number, counters: readonly ShadowCounters[], force = false) {
    for (const c of counters) {
      const key = `${c.run}.${partition}`;
      const value = JSON.stringify(c);
      if (!force && this.published.get(key) === value) continue;
      await publishShadowCounters(this.options.kv, partition, c);
      this.published.set(key, value);
    }
  }

  private publishAll(): Promise<void> {
    this.publishing = this.publishing.then(async () => {
      const force = this.periods++ % 10 === 0;
      if (force && this.periods > 1) void this.changed();
      try {
        for (const [partition, counters] of await this.options.runner.shadowCounters()) {
          await this.publish(partition, counters, force);
        }
      } catch (error) {
        this.options.warn(`shadow counters not published: ${String(error)}`);
      }
    });
    return this.publishing;
  }

  /** Stop following and publishing (partitions publish their last counters as they stop). */
  async close(): Promise<void> {
    this.stopWatch();
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.publishing;
    await this.reading;
  }
}
