/**
 * One partition of the cluster's JetStream stream as the durable log of a scorer's engine
 * (engine/log/durable-log.ts): the engine reads the partition from its oldest untrimmed entry
 * on open, then every newer entry reaches it through `onDurable` as ingest nodes publish it. The
 * scorer never appends (ingest nodes do); `trim` purges the partition's subject only, below the
 * position a checkpoint and the store cover. Positions are stream sequences, as in
 * engine/log/jetstream-log.ts. docs/cluster.md, "Scorers".
 */
import type {
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
} from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import { VigilError } from '../errors.js';
import {
  LOG_START,
  type DurableLog,
  type LogEntry,
  type LogPosition,
  type LogSize,
  type OnDurable,
} from '../engine/log/durable-log.js';
import type { LogCodec } from '../engine/log/jetstream-log-codec.js';

export interface PartitionLogOptions<T> {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  /** The partition's subject, `<prefix>.<partition>`. */
  readonly subject: string;
  readonly codec: LogCodec<T>;
  /** Told of entries that cannot be decoded (skipped). */
  readonly log?: (message: string) => void;
}

const pad = (seq: number): LogPosition => String(seq).padStart(20, '0');
const sequenceOf = (position: LogPosition): number =>
  position === LOG_START ? 0 : Number(position);

export class PartitionLog<T> implements DurableLog<T> {
  private lastSeq = 0;
  private entries = 0;
  private messages: ConsumerMessages | undefined;
  private live: Promise<void> = Promise.resolve();
  private closed = false;
  /** Messages not yet delivered when the last one was (0: caught up with the stream). */
  private pendingCount = 0;

  constructor(
    private readonly options: PartitionLogOptions<T>,
    private readonly onDurable: OnDurable<T>,
  ) {}

  /** The partition's stream sequence the engine has been handed, and how many are still behind. */
  progress(): { readonly position: number; readonly pending: number } {
    return { position: this.lastSeq, pending: this.pendingCount };
  }

  append(): Promise<LogPosition> {
    return Promise.reject(
      new VigilError('VIGIL_ERR_INTERNAL', 'a scorer does not append to its partitions'),
    );
  }

  /**
   * Everything stored after `after`, then (once read to the end) newer entries go to
   * `onDurable` as they arrive. Called once, when the engine opens.
   */
  async *read(after: LogPosition = LOG_START): AsyncIterable<LogEntry<T>> {
    const { js, stream, subject } = this.options;
    const consumer = await js.consumers.get(stream, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: sequenceOf(after) + 1,
    });
    const info = await consumer.info(true);
    this.pendingCount = info.num_pending;
    this.messages = await consumer.consume();
    const iterator = this.messages[Symbol.asyncIterator]();
    while (this.pendingCount > 0) {
      const next = await iterator.next();
      if (next.done === true) return;
      const entry = this.take(next.value);
      if (entry !== undefined) yield entry;
    }
    this.live = this.follow(iterator);
  }

  /** Live entries, one at a time, until closed. */
  private async follow(iterator: AsyncIterator<JsMsg>): Promise<void> {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true || this.closed) return;
      const entry = this.take(next.value);
      if (entry !== undefined) this.onDurable([entry]);
    }
  }

  private take(m: JsMsg): LogEntry<T> | undefined {
    this.lastSeq = m.seq;
    this.pendingCount = m.info.pending;
    try {
      const batch = this.options.codec.decode(m.data);
      this.entries++;
      return { position: pad(m.seq), batch };
    } catch (error) {
      this.options.log?.(
        `partition ${this.options.subject}: skipping sequence ${m.seq}, not a batch: ${String(error)}`,
      );
      return undefined;
    }
  }

  sync(): Promise<LogPosition> {
    return Promise.resolve(pad(this.lastSeq));
  }

  async trim(through: LogPosition): Promise<void> {
    const last = Math.min(sequenceOf(through), this.lastSeq);
    if (last < 1) return;
    await this.options.jsm.streams.purge(this.options.stream, {
      filter: this.options.subject,
      seq: last + 1,
    });
  }

  size(): LogSize {
    return { bytes: 0, entries: this.entries };
  }

  /** Hand the engine nothing more (before it drains and checkpoints on release). */
  async stop(): Promise<void> {
    this.closed = true;
    this.messages?.stop();
    // Nothing more reaches the engine once closed; the consumer's last pull may take a while.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.live.catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
  }

  close(): Promise<void> {
    return this.stop();
  }
}
