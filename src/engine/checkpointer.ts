/**
 * Checkpoints of detector state, one at a time (periodically and on request): sync the log,
 * let the shards snapshot after everything before that point, write the events that go with
 * the snapshots, write the states changed since the last checkpoint (encoded by the shards,
 * CHECKPOINT_PUT at a time), then record the log position
 * they cover (engine state `log-checkpoint`) and let the log trimmer forget what is covered.
 * docs/engine.md, "Checkpoints".
 */
import type { Store } from '../store/store.js';
import type { EventWriter } from './event-writer.js';
import type { LogPosition } from './log/durable-log.js';
import type { LogTrimmer } from './log/log-trimmer.js';
import { unpack, type CheckpointPack } from './scoring/packed-checkpoints.js';
import type { ScoringQueue } from './scoring/scoring-queue.js';
import type { ShardPool } from './scoring/shard-pool.js';

/**
 * Checkpoints per store write. The shards hand them over encoded (packed-checkpoints.ts), so a
 * write costs the main thread only base64 and a JSON document: 500 at a time keeps each slice
 * of that work to a few ms between awaits, so acks are not held up.
 */
const CHECKPOINT_PUT = 500;

/** Engine-state key of the log position the last checkpoint covers. */
export const LOG_CHECKPOINT_KEY = 'log-checkpoint';

/** What `LOG_CHECKPOINT_KEY` holds: the position covered, and the checkpoint's wall time (ms). */
export type LogCheckpoint = { readonly position: LogPosition; readonly wallTime: number };

export interface CheckpointerOptions {
  readonly store: Store;
  readonly pool: ShardPool;
  readonly queue: ScoringQueue;
  readonly events: EventWriter;
  readonly trimmer: LogTrimmer;
  readonly clock: () => number;
  /** Drop from memory series idle this long in event time (0 or absent: never). */
  readonly evictIdleMs?: number;
  /** Engine-state key the covered position is written under; default `LOG_CHECKPOINT_KEY`. */
  readonly logCheckpointKey?: string;
}

export class Checkpointer {
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private taken = 0;
  private lastWall: number | null = null;
  private written = 0;

  constructor(private readonly options: CheckpointerOptions) {}

  /**
   * Checkpoints taken, the wall time (ms) of the last one, and series states written in all
   * (only those changed since the checkpoint before are written each time).
   */
  stats(): {
    readonly checkpoints: number;
    readonly lastCheckpointWallMs: number | null;
    readonly statesWritten: number;
  } {
    return {
      checkpoints: this.taken,
      lastCheckpointWallMs: this.lastWall,
      statesWritten: this.written,
    };
  }

  /** Take one every `everyMs` of wall clock (0: never); failures go to `log`. */
  every(everyMs: number, log: (message: string) => void): void {
    if (everyMs <= 0) return;
    this.timer = setInterval(() => {
      this.checkpoint().catch((error: unknown) => log(`checkpoint failed: ${String(error)}`));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Take a checkpoint after the ones under way. */
  checkpoint(): Promise<void> {
    const run = this.chain.then(() => this.take());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async take(): Promise<void> {
    const { store, pool, queue, events, trimmer, clock } = this.options;
    // Everything up to the sync point is durable and already queued for scoring.
    const boundary = await trimmer.sync();
    // Hold new batches back until the snapshots are taken, so they match the events written
    // with them; each shard snapshots after the batches it was already given.
    await queue.drainAndHold();
    const wallTime = clock();
    let parts: CheckpointPack[][];
    try {
      parts = await pool.snapshot(wallTime, this.options.evictIdleMs ?? 0);
      await events.flush();
    } finally {
      queue.release();
    }
    let written = 0;
    try {
      // Only states changed since the last checkpoint are in `parts` (the shards' dirty flags).
      for (const pack of parts.flat()) {
        for (let i = 0; i < pack.keys.length; i += CHECKPOINT_PUT) {
          const slice = unpack(pack, i, i + CHECKPOINT_PUT);
          await store.checkpoints.putEncoded(slice);
          written += slice.length;
        }
      }
    } catch (error) {
      await pool.dirty(parts.map((packs) => packs.flatMap((p) => p.keys)));
      throw error;
    }
    this.written += written;
    const covered: LogCheckpoint = { position: boundary.position, wallTime };
    await store.engineState.put(this.options.logCheckpointKey ?? LOG_CHECKPOINT_KEY, covered);
    trimmer.checkpointed(boundary.epoch);
    this.taken++;
    this.lastWall = clock();
    await trimmer.sweep();
  }
}
