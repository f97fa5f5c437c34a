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
import type { ClusterSettings } from './config.js';
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
    'openLog' | 'ownsDevice' | 'logCheckpointKey' | 'spoolDir' | 'foreignAppends'
  >;
  /** Where the owned partitions' feed goes (alerting). */
  readonly hub: FeedHub;
  readonly log: (message: string) => void;
}

interface Running {
  readonly engine: Engine;
  readonly log: PartitionLog<SpooledBatch>;
  readonly unsubscribe: () => void;
}

export interface PartitionStatus {
  readonly partition: number;
  /** Last stream sequence handed to the engine. */
  readonly position: number;
  /** Messages of the partition not yet handed over. */
  readonly pending: number;
  /** Values handed over, not yet stored and scored. */
  readonly queued: number;
}

/** Engine-state key of the stream sequence a partition's checkpoints cover. */
export const partitionCheckpointKey = (stream: string, partition: number): string =>
  `log-checkpoint:${stream}:${partition}`;

export class ScorerRunner {
  private readonly running = new Map<number, Running>();
  /** Starts and stops of one partition, one at a time. */
  private readonly chains = new Map<number, Promise<void>>();

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
      });
      const unsubscribe = engine.subscribe((item) => {
        hub.emit(item);
        if (crossesBus(item)) publishFeedItem(nc, cluster.eventsSubject, item);
      });
      this.running.set(partition, {
        engine,
        log: partitionLog as PartitionLog<SpooledBatch>,
        unsubscribe,
      });
      log(`partition ${partition}: scoring`);
    });
  }

  /** Stop taking entries, drain into the store, checkpoint, close. */
  stop(partition: number): Promise<void> {
    return this.serial(partition, async () => {
      const part = this.running.get(partition);
      if (part === undefined) return;
      this.running.delete(partition);
      await part.log.stop();
      try {
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
      .map(([partition, part]) => ({
        partition,
        ...part.log.progress(),
        queued: part.engine.stats().queued,
      }));
  }
}
