/**
 * Group commit for MQTT messages: messages that arrive while earlier ones are being placed in the
 * durable log are gathered into one `engine.ingest` call (one log append, one fsync shared with
 * whatever else the log commits), and each message is acknowledged only once its group is
 * durable, groups strictly in arrival order (MQTT 3.1.1 §4.6: PUBACKs go out in the order the
 * PUBLISHes came). On backpressure the group waits and is retried before anything newer; a
 * group the engine fails is left unacknowledged for the broker to redeliver.
 */
import {
  BackpressureError,
  type IngestPoint,
  type IngestResult,
  type PointError,
} from '../../engine/engine.js';
import { sleep } from '../../timing/sleep.js';

/** A message as the group commit sees it: its points; the rest is the caller's. */
export interface GroupMessage {
  readonly points: readonly IngestPoint[];
}

/**
 * What happens to each message is the options' `durable`/`failed`, called with the message: one
 * plain record per message, no closures, on a path that runs tens of thousands of times a second.
 */
export interface GroupCommitOptions<M extends GroupMessage> {
  /** The message's points are durable (or rejected, per point): send the acknowledgement. */
  durable(message: M, errors: readonly PointError[]): void;
  /** The engine failed the group: the message stays unacknowledged. */
  failed(message: M, err: unknown): void;
  /** `engine.ingest`: calls `onQueued` once the batch holds its place in the log order. */
  ingest(points: readonly IngestPoint[], onQueued: () => void): Promise<IngestResult>;
  /** Most messages in one ingest call. */
  readonly maxMessages: number;
  /** Most messages waiting to be placed before `full()` says stop reading. */
  readonly maxWaiting: number;
  /** Called on each backpressure wait. */
  onBackpressure?(): void;
  /** Ends the backpressure sleeps (stop). */
  readonly signal: AbortSignal;
}

export class GroupCommit<M extends GroupMessage> {
  private waiting: M[] = [];
  /** A group was handed to the engine and has not yet got its place in the log. */
  private placing = false;
  private scheduled = false;
  /** Resolves once every placed group has been acknowledged or failed, in order. */
  private acked: Promise<void> = Promise.resolve();
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly options: GroupCommitOptions<M>) {}

  add(message: M): void {
    this.waiting.push(message);
    this.schedule();
  }

  /** Too many messages wait to be placed: stop reading until `room()` resolves. */
  full(): boolean {
    return this.waiting.length >= this.options.maxWaiting;
  }

  room(): Promise<void> {
    if (!this.full()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Forget the messages not yet handed to the engine (the broker redelivers them). */
  drop(): M[] {
    const dropped = this.waiting;
    this.waiting = [];
    this.releaseRoom();
    return dropped;
  }

  /** Resolves once every group handed to the engine so far is acknowledged or failed. */
  settled(): Promise<void> {
    return this.acked;
  }

  private schedule(): void {
    if (this.scheduled || this.placing || this.waiting.length === 0) return;
    this.scheduled = true;
    // After the messages already parsed from the socket have been added: they join this group.
    setImmediate(() => {
      this.scheduled = false;
      this.placeNext();
    });
  }

  private releaseRoom(): void {
    if (this.full()) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private placeNext(): void {
    if (this.placing || this.waiting.length === 0) return;
    const group = this.waiting.splice(0, this.options.maxMessages);
    this.releaseRoom();
    this.placing = true;
    void this.place(group);
  }

  private async place(group: M[]): Promise<void> {
    for (;;) {
      const points: IngestPoint[] = [];
      for (const m of group) for (const p of m.points) points.push(p);
      let placed = false;
      const onQueued = () => {
        if (placed) return;
        placed = true;
        this.placing = false;
        this.schedule();
      };
      // Only rejected messages (nothing to store): acknowledged in their turn.
      const result =
        points.length === 0
          ? Promise.resolve({ accepted: 0, errors: [] })
          : this.options.ingest(points, onQueued);
      const previous = this.acked;
      const current = group;
      // Acknowledgements chain in placement order, so they leave in arrival order.
      this.acked = result.then(
        async (r) => {
          await previous;
          acknowledge(current, r.errors, this.options.durable);
        },
        async (err: unknown) => {
          await previous;
          if (!(err instanceof BackpressureError) || placed) {
            for (const m of current) this.options.failed(m, err);
          }
        },
      );
      try {
        await result;
        onQueued(); // for an engine that never calls it
        return;
      } catch (err) {
        if (placed || !(err instanceof BackpressureError) || this.options.signal.aborted) {
          onQueued();
          return;
        }
        // Refused as a whole, nothing accepted: wait, then retry before anything newer, halving
        // the group each time so a group larger than the engine's queue still gets in.
        this.options.onBackpressure?.();
        if (group.length > 1) {
          const half = Math.ceil(group.length / 2);
          this.waiting.unshift(...group.slice(half));
          group = group.slice(0, half);
        }
        await sleep(Math.min(Math.max(err.retryAfterMs, 50), 5_000), this.options.signal);
        if (this.options.signal.aborted) {
          for (const m of group) this.options.failed(m, err);
          this.placing = false;
          return;
        }
      }
    }
  }
}

const NO_ERRORS: readonly PointError[] = Object.freeze([]);

/** Hand each message the point errors that are its own (indices local to the message). */
function acknowledge<M extends GroupMessage>(
  group: readonly M[],
  errors: readonly PointError[],
  durable: (message: M, errors: readonly PointError[]) => void,
): void {
  if (errors.length === 0) {
    for (const m of group) durable(m, NO_ERRORS);
    return;
  }
  let offset = 0;
  let e = 0;
  for (const m of group) {
    const end = offset + m.points.length;
    const own: PointError[] = [];
    while (e < errors.length && errors[e]!.index < end) {
      const error = errors[e++]!;
      own.push({ ...error, index: error.index - offset });
    }
    durable(m, own);
    offset = end;
  }
}
