/**
 * A NATS JetStream stream as a DurableLog (durable-log.ts): one stream per log, a subject per
 * device partition (`<prefix>.<partition>`, a partition count fixed when the stream is created),
 * file storage. A batch is durable once JetStream acknowledged storing it; its position is the
 * stream sequence number, zero-padded so positions sort as strings. The whole stream is one
 * ordered log (the single-process role): every append goes out on one connection, in call
 * order, so stream order is call order. docs/cluster.md, "The durable log on JetStream".
 *
 * A batch larger than a message may be is split into chunks, published back to back: the
 * earlier ones on `<prefix>.<partition>.chunk`, the last on the partition's subject (so the
 * partition subjects count whole entries), all carrying the record id and `i/n`. Chunks of a
 * record that never got its last chunk (a failed append) are skipped when read.
 */
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
  type StreamInfo,
} from '@nats-io/jetstream';
import { quoteInput } from '../../data/quote.js';
import { VigilError } from '../../errors.js';
import {
  LOG_START,
  type DurableLog,
  type LogEntry,
  type LogPosition,
  type LogSize,
  type OnDurable,
} from './durable-log.js';
import { partitionOf, type LogCodec } from './jetstream-log-codec.js';

export interface JetStreamLogOptions<T> {
  /** Server URL(s) to connect to; the log owns that connection and closes it on `close`. */
  readonly servers?: string | string[];
  /** Or a connection the caller owns (left open on `close`). */
  readonly connection?: NatsConnection;
  /** Stream name, e.g. `VIGIL_POINTS`. */
  readonly stream: string;
  /** Subject prefix (default: the stream name). */
  readonly subjectPrefix?: string;
  /** Partitions, fixed at the stream's creation; opening with another count is refused. */
  readonly partitions: number;
  readonly codec: LogCodec<T>;
  /** How long a publish acknowledgement or API call may take before failing (default 5 s). */
  readonly timeoutMs?: number;
  /** Largest message body; bigger batches are chunked (default: server max_payload − 8 KiB). */
  readonly chunkBytes?: number;
  /** Stream limits at creation. Both drop entries: off (0) unless asked for. */
  readonly maxBytes?: number;
  readonly maxAgeMs?: number;
  readonly replicas?: number;
  /** Window in which a republished message id is stored once (default 2 min). */
  readonly duplicateWindowMs?: number;
  /** Hears of torn records skipped when reading. */
  readonly log?: (message: string) => void;
}

const RECORD = 'Vigil-Record';
const CHUNK = 'Vigil-Chunk';
const DESCRIPTION = /^vigil durable log: partitions=(\d+) subjects=(\S+)$/;
const describe = (partitions: number, prefix: string): string =>
  `vigil durable log: partitions=${partitions} subjects=${prefix}.*`;

const pad = (seq: number): LogPosition => String(seq).padStart(20, '0');
function sequenceOf(position: LogPosition): number {
  if (position === LOG_START) return 0;
  if (!/^\d{20}$/.test(position)) {
    throw new Error(`not a JetStream log position: ${quoteInput(position)}`);
  }
  return Number(position);
}

const unavailable = (what: string, cause: unknown): VigilError =>
  new VigilError(
    'VIGIL_ERR_LOG_UNAVAILABLE',
    `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
    { cause },
  );

/** Bytes a file-stored message takes, as the server counts them (close enough between infos). */
const storedBytes = (subject: string, headerBytes: number, body: number): number =>
  22 + subject.length + headerBytes + body + 8;

type Settled = { ok: PubAck[] } | { error: unknown };

export class JetStreamLog<T> implements DurableLog<T> {
  private closed = false;
  private counter = 0;
  /** Settles after every append made so far settled (appends resolve in call order). */
  private tail: Promise<void> = Promise.resolve();
  /** Stream sequence of the last entry known durable. */
  private lastSeq = 0;
  private entries = 0;
  private bytes = 0;
  /** Entries up to this sequence are in `entries`/`bytes` already (from a stream info). */
  private countedThrough = 0;
  /** While a stream info is asked for: entries made durable meanwhile. */
  private recent: { seq: number; bytes: number }[] | undefined;
  private readonly prefix: string;
  /** Distinguishes this opening's message ids from every other's. */
  private readonly instance = `${process.pid.toString(36)}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly owned: boolean,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: JetStreamLogOptions<T>,
    private readonly chunkBytes: number,
    private readonly onDurable: OnDurable<T>,
  ) {
    this.prefix = options.subjectPrefix ?? options.stream;
  }

  /**
   * Connect (unless given a connection), create the stream if missing, check its partition
   * count and read its size.
   * @throws VigilError VIGIL_ERR_LOG_UNAVAILABLE when the server cannot be reached or has no
   *   JetStream; VIGIL_ERR_CONFIG when the stream exists with another layout.
   */
  static async open<T>(
    options: JetStreamLogOptions<T>,
    onDurable: OnDurable<T>,
  ): Promise<JetStreamLog<T>> {
    const { partitions } = options;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 4096) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        `JetStream log partitions must be 1–4096, not ${partitions}`,
      );
    }
    const timeout = options.timeoutMs ?? 5000;
    let nc = options.connection;
    const owned = nc === undefined;
    if (nc === undefined) {
      const servers = options.servers ?? '127.0.0.1:4222';
      try {
        nc = await connect({ servers, timeout, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
      } catch (error) {
        throw unavailable(`cannot connect to NATS at ${quoteInput(String(servers))}`, error);
      }
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout });
      const js = jetstream(nc, { timeout });
      const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
      const chunkBytes = Math.min(options.chunkBytes ?? Infinity, maxPayload - 8 * 1024);
      const self = new JetStreamLog(nc, owned, js, jsm, options, chunkBytes, onDurable);
      await self.ensureStream();
      await self.refreshSize();
      self.lastSeq = self.countedThrough;
      return self;
    } catch (error) {
      if (owned) await nc.close().catch(() => undefined);
      if (error instanceof VigilError) throw error;
      throw unavailable(`cannot open JetStream stream ${quoteInput(options.stream)}`, error);
    }
  }

  append(batch: T): Promise<LogPosition> {
    if (this.closed) {
      return Promise.reject(new VigilError('VIGIL_ERR_LOG_UNAVAILABLE', 'the log is closed'));
    }
    const body = this.options.codec.encode(batch);
    const subject = `${this.prefix}.${partitionOf(this.options.codec.partitionKey(batch), this.options.partitions)}`;
    const id = `${this.instance}.${this.counter++}`;
    const count = Math.max(1, Math.ceil(body.length / this.chunkBytes));
    let bytes = 0;
    // Every publish is written to the connection here, synchronously: the call fixes the order.
    const acks = Array.from({ length: count }, (_, i) => {
      const chunk = body.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes);
      const last = i === count - 1;
      const h = headers();
      if (count > 1) {
        h.set(RECORD, id);
        h.set(CHUNK, `${i + 1}/${count}`);
      }
      const to = last ? subject : `${subject}.chunk`;
      bytes += storedBytes(to, id.length + 40 + (count > 1 ? id.length + 40 : 0), chunk.length);
      return this.js.publish(to, chunk, { msgID: `${id}.${i}`, headers: h, timeout: this.timeout });
    });
    // Handled now, so a failure while an earlier append still waits is not an unhandled one.
    const settled: Promise<Settled> = Promise.all(acks).then(
      (ok) => ({ ok }),
      (error: unknown) => ({ error }),
    );
    const done = this.tail
      .then(() => settled)
      .then((result) => {
        if ('error' in result) {
          throw unavailable('JetStream did not acknowledge the batch', result.error);
        }
        return this.durable(batch, result.ok, bytes);
      });
    this.tail = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  async *read(after: LogPosition = LOG_START): AsyncIterable<LogEntry<T>> {
    const info = await this.api('read the stream', () =>
      this.jsm.streams.info(this.options.stream),
    );
    const start = Math.max(sequenceOf(after) + 1, info.state.first_seq);
    const end = info.state.last_seq;
    if (info.state.messages === 0 || start > end) return;
    const consumer = await this.api('read the stream', () =>
      this.js.consumers.get(this.options.stream, {
        opt_start_seq: start,
        deliver_policy: DeliverPolicy.StartSequence,
      }),
    );
    const messages = await consumer.consume();
    let pending: { id: string; parts: Uint8Array[] } | undefined;
    const torn = (seq: number): void => {
      if (pending === undefined) return;
      this.options.log?.(
        `JetStream log: skipped a torn, unacknowledged record of ${pending.parts.length} chunks before sequence ${seq}`,
      );
      pending = undefined;
    };
    try {
      for await (const m of messages) {
        const entry = this.assemble(m, pending, torn);
        pending = entry.pending;
        if (entry.body !== undefined) {
          yield { position: pad(m.seq), batch: this.options.codec.decode(entry.body) };
        }
        // Entries appended after the read began may or may not be included: stop at the end.
        if (m.seq >= end || m.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
  }

  async sync(): Promise<LogPosition> {
    await this.tail;
    return pad(this.lastSeq);
  }

  async trim(through: LogPosition): Promise<void> {
    // Never past what is known durable: entries after it have not been acknowledged.
    const last = Math.min(sequenceOf(through), this.lastSeq);
    if (last < 1) return;
    await this.api('trim the stream', () =>
      this.jsm.streams.purge(this.options.stream, { seq: last + 1 }),
    );
    await this.refreshSize();
  }

  size(): LogSize {
    return { bytes: this.bytes, entries: this.entries };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    if (this.owned) await this.nc.close();
  }

  private get timeout(): number {
    return this.options.timeoutMs ?? 5000;
  }

  private durable(batch: T, acks: PubAck[], bytes: number): LogPosition {
    const seq = (acks.at(-1) as PubAck).seq;
    if (seq <= this.lastSeq) {
      throw new VigilError(
        'VIGIL_ERR_LOG_UNAVAILABLE',
        `JetStream stored the batch at sequence ${seq}, not after ${this.lastSeq}: another writer on stream ${quoteInput(this.options.stream)}?`,
      );
    }
    this.lastSeq = seq;
    if (seq > this.countedThrough) {
      this.entries++;
      this.bytes += bytes;
    }
    this.recent?.push({ seq, bytes });
    const position = pad(seq);
    this.onDurable([{ position, batch }]);
    return position;
  }

  /** One message read: the complete record it ends, if any, and the chunks still waiting. */
  private assemble(
    m: JsMsg,
    pending: { id: string; parts: Uint8Array[] } | undefined,
    torn: (seq: number) => void,
  ): { body?: Uint8Array; pending?: { id: string; parts: Uint8Array[] } } {
    const chunk = m.headers?.get(CHUNK);
    if (chunk === undefined || chunk === '') {
      torn(m.seq);
      return { body: m.data };
    }
    const id = m.headers?.get(RECORD) ?? '';
    const [i, n] = chunk.split('/').map(Number) as [number, number];
    if (i === 1 || pending?.id !== id || pending.parts.length !== i - 1) {
      torn(m.seq);
      if (i !== 1) return {};
      pending = { id, parts: [] };
    }
    pending.parts.push(m.data);
    if (i < n) return { pending };
    return { body: Buffer.concat(pending.parts) };
  }

  private async ensureStream(): Promise<void> {
    const { stream, partitions } = this.options;
    let info: StreamInfo | undefined;
    try {
      info = await this.jsm.streams.info(stream);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === 10059)) throw error;
    }
    if (info === undefined) {
      await this.jsm.streams.add({
        name: stream,
        description: describe(partitions, this.prefix),
        subjects: [`${this.prefix}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        // When full, refuse appends rather than drop entries not yet stored and checkpointed.
        discard: DiscardPolicy.New,
        max_bytes: this.options.maxBytes ?? -1,
        max_age: (this.options.maxAgeMs ?? 0) * 1e6,
        num_replicas: this.options.replicas ?? 1,
        duplicate_window: (this.options.duplicateWindowMs ?? 120_000) * 1e6,
      });
      return;
    }
    const layout = DESCRIPTION.exec(info.config.description ?? '');
    if (layout === null || Number(layout[1]) !== partitions || layout[2] !== `${this.prefix}.*`) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        `JetStream stream ${quoteInput(stream)} has layout ${quoteInput(info.config.description ?? '(none)')}, ` +
          `not ${partitions} partitions on ${quoteInput(`${this.prefix}.*`)}: a stream's partitions are fixed when it is created`,
      );
    }
  }

  /** Entries (messages on partition subjects) and bytes from the server. */
  private async refreshSize(): Promise<void> {
    this.recent = [];
    try {
      const info = await this.api('read the stream size', () =>
        this.jsm.streams.info(this.options.stream, { subjects_filter: `${this.prefix}.*` }),
      );
      const through = info.state.last_seq;
      const later = this.recent.filter((r) => r.seq > through);
      let entries = 0;
      for (const n of Object.values(info.state.subjects ?? {})) entries += n;
      this.entries = entries + later.length;
      this.bytes = info.state.bytes + later.reduce((sum, r) => sum + r.bytes, 0);
      this.countedThrough = Math.max(this.countedThrough, through);
    } finally {
      this.recent = undefined;
    }
  }

  private async api<R>(what: string, call: () => Promise<R>): Promise<R> {
    try {
      return await call();
    } catch (error) {
      throw unavailable(`cannot ${what} ${quoteInput(this.options.stream)}`, error);
    }
  }
}
