/**
 * When the durable log may forget: an entry goes once it is committed to the store AND covered
 * by a checkpoint. Entries are counted in epochs, one per `sync` of the log (the checkpointer
 * syncs at every checkpoint): the store writer tracks rows not committed per epoch, and an epoch
 * is trimmed through the position its sync returned once a checkpoint covers it and none of its
 * rows wait for the store.
 */
import type { StoreWriter } from '../store-writer.js';
import type { DurableLog, LogPosition } from './durable-log.js';

export class LogTrimmer {
  private current = 0;
  /** Where each ended epoch ends in the log. */
  private readonly ends = new Map<number, LogPosition>();
  private covered = -1;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: DurableLog<unknown>,
    private readonly writer: Pick<StoreWriter, 'unstoredIn' | 'forget'>,
  ) {}

  /** The epoch entries made durable now belong to (the store writer's chunk `segment`). */
  get epoch(): number {
    return this.current;
  }

  /** Sync the log and end the current epoch there; returns the epoch and its end position. */
  async sync(): Promise<{ epoch: number; position: LogPosition }> {
    const position = await this.log.sync();
    const epoch = this.current++;
    this.ends.set(epoch, position);
    return { epoch, position };
  }

  /** A checkpoint covers everything up to the end of `epoch`. */
  checkpointed(epoch: number): void {
    this.covered = Math.max(this.covered, epoch);
  }

  /** Trim every epoch that is stored and checkpointed, oldest first (one sweep at a time). */
  sweep(): Promise<void> {
    const run = this.sweeping.then(async () => {
      for (const epoch of [...this.ends.keys()].sort((a, b) => a - b)) {
        if (epoch > this.covered || this.writer.unstoredIn(epoch) > 0) break;
        await this.log.trim(this.ends.get(epoch) as LogPosition);
        this.ends.delete(epoch);
        this.writer.forget(epoch);
      }
    });
    this.sweeping = run.catch(() => undefined);
    return run;
  }
}
