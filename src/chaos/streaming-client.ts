/**
 * One protocol's client loop: takes the next batch from its source, sends it, and moves on only
 * once it is acknowledged; a failed batch is kept and sent again, with the same points, until it
 * is. So what a client has had acknowledged is always exactly the batches it moved past.
 *
 * Modes: `stream` (send batch after batch, a pause between them), `drain` (only get the kept
 * batch acknowledged, then idle), `pause` (idle after the attempt under way).
 */
import type { ChaosPoint } from './points.js';
import { Transient, type Sender } from './clients/sender.js';
import { sleep } from '../timing/sleep.js';

export interface BatchSource {
  /** The next batch, or null when the source has nothing more. */
  next(): ChaosPoint[] | null;
  /** Called once per batch, when it is acknowledged. */
  acked(batch: readonly ChaosPoint[]): void;
}

type Mode = 'stream' | 'drain' | 'pause';

export class StreamingClient {
  ackedPoints = 0;
  /** Failed attempts (all retried). */
  retries = 0;
  /** A failure that is not the server being away or busy: the run stops on it. */
  fatal: Error | null = null;
  private mode: Mode = 'pause';
  private pending: ChaosPoint[] | null = null;
  private exhausted = false;
  private closed = false;
  private idle = true;
  private wakeLoop: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  private readonly loopDone: Promise<void>;

  constructor(
    readonly name: string,
    private readonly sender: Sender,
    private readonly source: BatchSource,
    private readonly pauseMs: number,
  ) {
    this.loopDone = this.loop();
  }

  /** True once the source is exhausted and every batch is acknowledged. */
  get finished(): boolean {
    return this.exhausted && this.pending === null;
  }

  stream(): void {
    this.setMode('stream');
  }

  /** Resolves once the kept batch (if any) is acknowledged; the client then idles. */
  drain(): Promise<void> {
    this.setMode('drain');
    return this.whenIdle();
  }

  /** Resolves once the attempt under way (if any) has ended. */
  pause(): Promise<void> {
    this.setMode('pause');
    return this.whenIdle();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.loopDone;
    await this.sender.close();
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    this.wake();
  }

  private wake(): void {
    const w = this.wakeLoop;
    this.wakeLoop = null;
    w?.();
  }

  private whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private wantsWork(): boolean {
    if (this.closed || this.fatal !== null) return false;
    if (this.mode === 'pause') return false;
    if (this.mode === 'drain') return this.pending !== null;
    return this.pending !== null || !this.exhausted;
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      if (!this.wantsWork()) {
        this.idle = true;
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
        await new Promise<void>((r) => (this.wakeLoop = r));
        continue;
      }
      this.idle = false;
      if (this.pending === null) {
        this.pending = this.source.next();
        if (this.pending === null) {
          this.exhausted = true;
          continue;
        }
      }
      const batch = this.pending;
      try {
        await this.sender.send(batch);
        this.pending = null;
        this.ackedPoints += batch.length;
        this.source.acked(batch);
        if (this.mode === 'stream') await sleep(this.pauseMs);
      } catch (err) {
        if (!(err instanceof Transient)) {
          this.fatal = err instanceof Error ? err : new Error(String(err));
          continue;
        }
        this.retries++;
        await sleep(100);
      }
    }
    this.idle = true;
    for (const w of this.idleWaiters) w();
    this.idleWaiters = [];
  }
}
