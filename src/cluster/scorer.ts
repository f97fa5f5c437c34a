/**
 * A scorer's partitions (docs/cluster.md, "Scorers"): for each partition it leases, one engine
 * (engine/create-engine.ts, scoring on the main thread) whose durable log is that partition of
 * the stream (partition-log.ts). The engine restores the partition's devices' checkpoints, reads
 * the partition from its oldest untrimmed entry (points the checkpoints cover are stored again
 * idempotently and not scored again), then follows it live; it stores points and events and
 * checkpoints under a key of its own, with the stream sequence it covers, and trims the
 * partition once both cover it. Its feed goes to the local hub (alerting) and the event bus.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createEngine, type EngineOptions } from '../engine/create-engine.js';
import type { Engine } from '../engine/engine.js';
import { partitionOf, spooledBatchCodec } from '../engine/log/jetstream-log-codec.js';
import type { SpooledBatch } from '../engine/spool-record.js';
import type { ShadowCounters, ShadowSpec } from '../engine/shadow/types.js';
import { StrategySlots } from '../engine/strategy-slots.js';
import type { ClusterSettings } from './config.js';
import { detectSubject, serveDetect } from './detect-relay.js';
import { crossesBus, publishFeedItem, type FeedHub } from './event-bus.js';
import { PartitionLog } from './partition-log.js';

export interface ScorerOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly cluster: ClusterSettings;
  /** Every engine's options but its log, device filter and checkpoint key. */
  readonly engine: Omit<
    EngineOptions,
    'openLog' | 'ownsDevice' | 'logCheckpointKey' | 'spoolDir' | 'foreignAppends' | 'shadows'
  >;
  /** Where the owned partitions' feed goes (alerting). */
  readonly hub: FeedHub;
  readonly log: (message: string) => void;
  /** Strategy changes that were not made active on a partition. */
  readonly warn?: (message: string) => void;
  /** Counted for every strategy change a partition did not make active (the metric hook). */
  readonly onStrategyFailure?: (strategy: string) => void;
  /** A partition's shadow counters as it stops (its last scores before a new owner's). */
  readonly onShadowCounters?: (partition: number, counters: ShadowCounters[]) => Promise<void>;
}

interface Running {
  readonly engine: Engine;
  readonly slots: StrategySlots;
  readonly log: PartitionLog<SpooledBatch>;
  readonly unsubscribe: () => void;
  readonly undetect: () => void;
}

export interface PartitionStatus {
  readonly partition: number;
  /** Last stream sequence handed to the engine. */
  readonly position: number;
  /** Messages of the partition not yet handed over. */
  readonly pending: number;
  /** Values handed over, not yet stored and scored. */
  readonly queued: number;
  /** The active strategies, `name@version`, in routing order then the default. */
  readonly strategies: string[];
  /** The shadow runs scoring on the partition (docs/cluster.md, "Shadow runs"). */
  readonly shadows: number[];
}

/** Engine-state key of the stream sequence a partition's checkpoints cover. */
export const partitionCheckpointKey = (stream: string, partition: number): string =>
  `log-checkpoint:${stream}:${partition}`;

export class ScorerRunner {
  private readonly running = new Map<number, Running>();
  /** Starts and stops of one partition, one at a time. */
  private readonly chains = new Map<number, Promise<void>>();
  /** Strategy versions announced cluster-wide (strategy-announcements.ts), by name. */
  private readonly announced = new Map<string, number>();
  /** The cluster's running shadow runs (scorer-shadows.ts); a partition starts with them. */
  private shadows: readonly ShadowSpec[] = [];

  constructor(private readonly options: ScorerOptions) {}

  private serial(partition: number, work: () => Promise<void>): Promise<void> {
    const run = (this.chains.get(partition) ?? Promise.resolve()).then(work);
    this.chains.set(
      partition,
      run.catch(() => undefined),
    );
    return run;
  }

  start(partition: number): Promise<void> {
    return this.serial(partition, async () => {
      if (this.running.has(partition)) return;
      const { nc, js, jsm, cluster, hub, log } = this.options;
      let partitionLog: PartitionLog<SpooledBatch> | undefined;
      const shadows = this.shadows;
      const engine = await createEngine({
        ...this.options.engine,
        spoolDir: '', // unused: the partition is the log
        openLog: (onDurable) =>
          Promise.resolve(
            (partitionLog = new PartitionLog(
              {
                js,
                jsm,
                stream: cluster.stream,
                subject: `${cluster.stream}.${partition}`,
                codec: spooledBatchCodec,
                log,
              },
              onDurable,
            )),
          ),
        foreignAppends: true,
        ownsDevice: (device) => partitionOf(device, cluster.partitions) === partition,
        logCheckpointKey: partitionCheckpointKey(cluster.stream, partition),
        // Their candidate states and counters come back from the checkpoints, whoever wrote them.
        shadows,
      });
      const unsubscribe = engine.subscribe((item) => {
        hub.emit(item);
        if (crossesBus(item)) publishFeedItem(nc, cluster.eventsSubject, item);
      });
      // Unary Detect of any node, for this partition's devices (detect-relay.ts).
      const undetect = serveDetect(nc, detectSubject(cluster.stream, partition), engine);
      const { onStrategyFailure } = this.options;
      const slots = new StrategySlots({
        engine,
        store: this.options.engine.store,
        log,
        ...(onStrategyFailure && { onFailure: (strategy: string) => onStrategyFailure(strategy) }),
      });
      const part = {
        engine,
        slots,
        log: partitionLog as PartitionLog<SpooledBatch>,
        unsubscribe,
        undetect,
      };
      this.running.set(partition, part);
      // Runs that started or ended while the engine was being created.
      if (this.shadows !== shadows) await engine.shadows.set(this.shadows);
      log(`partition ${partition}: scoring`);
      for (const [name, version] of this.announced) await this.swap(partition, part, name, version);
    });
  }

  /** A version announced cluster-wide: each partition checks it and swaps it in. */
  announce(name: string, version: number): Promise<void> {
    this.announced.set(name, version);
    return Promise.all(
      [...this.running.keys()].map((p) =>
        this.serial(p, async () => {
          const part = this.running.get(p);
          if (part !== undefined && this.announced.get(name) === version) {
            await this.swap(p, part, name, version);
          }
        }),
      ),
    ).then(() => undefined);
  }

  /**
   * The cluster's running shadow runs: every partition scores these (runs kept keep their state;
   * the open events of runs removed are closed and stored).
   */
  setShadows(runs: readonly ShadowSpec[]): Promise<void> {
    this.shadows = runs;
    return Promise.all(
      [...this.running.keys()].map((p) =>
        this.serial(p, async () => {
          const part = this.running.get(p);
          if (part !== undefined && this.shadows === runs) await part.engine.shadows.set(runs);
        }),
      ),
    ).then(() => undefined);
  }

  /** Each scoring partition's shadow counters (restored from checkpoints included). */
  async shadowCounters(): Promise<Map<number, ShadowCounters[]>> {
    const out = new Map<number, ShadowCounters[]>();
    if (this.shadows.length === 0) return out; // nothing to ask the partitions
    for (const [partition, part] of [...this.running.entries()]) {
      out.set(partition, await part.engine.shadows.counters());
    }
    return out;
  }

  /** Through the slots' staging and health check; a failure leaves the active version. */
  private async swap(partition: number, part: Running, name: string, version: number) {
    try {
      await part.slots.rollback(name, version);
    } catch (error) {
      (this.options.warn ?? this.options.log)(
        `partition ${partition}: strategy ${name}@${version} not made active: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Stop taking entries, drain into the store, checkpoint, close. */
  stop(partition: number): Promise<void> {
    return this.serial(partition, async () => {
      const part = this.running.get(partition);
      if (part === undefined) return;
      this.running.delete(partition);
      part.undetect();
      await part.log.stop();
      try {
        const { onShadowCounters } = this.options;
        if (onShadowCounters !== undefined && part.engine.shadows.runs().length > 0) {
          await part.engine.flush();
          await onShadowCounters(partition, await part.engine.shadows.counters()).catch(
            (error: unknown) =>
              this.options.log(`partition ${partition}: shadow counters: ${String(error)}`),
          );
        }
        await part.engine.close();
      } finally {
        part.unsubscribe();
      }
      this.options.log(`partition ${partition}: stopped`);
    });
  }

  status(): PartitionStatus[] {
    return [...this.running.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partition, part]) => {
        const { strategies, fallback } = part.slots.active();
        return {
          partition,
          ...part.log.progress(),
          queued: part.engine.stats().queued,
          strategies: [...strategies, fallback].map((s) => `${s.name}@${s.version}`),
          shadows: part.engine.shadows.runs().map((s) => s.run),
        };
      });
  }
}
