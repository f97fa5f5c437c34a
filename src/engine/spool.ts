/**
 * The write-ahead spool: accepted batches are appended to a segment file and fsynced before they
 * are acknowledged. Concurrent appends are group-committed (one write + one fdatasync for all
 * batches waiting), so the cost of an fsync is shared by everything that arrived during the
 * previous one. Segments are numbered; the engine rotates to a new one at each checkpoint and
 * deletes a segment once all its points are committed to the store and covered by a checkpoint.
 *
 * Format: one JSON array of points per line (NDJSON). A crash can only tear the last line of the
 * last segment written, and that line was never acknowledged (its fsync did not return), so a
 * line that does not parse at the end of a segment is dropped on replay.
 */
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ValidPoint } from './validate.js';

const SEGMENT = /^spool-(\d{12})\.ndjson$/;

function segmentName(id: number): string {
  return `spool-${String(id).padStart(12, '0')}.ndjson`;
}

export interface LeftoverSegment {
  readonly id: number;
  readonly batches: ValidPoint[][];
  /** Bytes at the end that did not parse (a torn, unacknowledged write). */
  readonly tornBytes: number;
}

interface Pending {
  readonly line: string;
  readonly batch: ValidPoint[];
  resolve(segment: number): void;
  reject(error: unknown): void;
}

/** Called once a group of batches is durable, before their appends resolve, in spool order. */
export type OnDurable = (segment: number, batches: readonly ValidPoint[][]) => void;

export class Spool {
  private fd: FileHandle | undefined;
  private pending: Pending[] = [];
  private scheduled = false;
  /** Serialises file operations (flushes, rotations) in call order. */
  private chain: Promise<void> = Promise.resolve();
  private bytes = 0;
  private broken = false;

  private constructor(
    private readonly dir: string,
    private activeId: number,
    private readonly onDurable: OnDurable,
  ) {}

  /** Open the spool directory; returns the segments a previous run left, oldest first. */
  static async open(
    dir: string,
    onDurable: OnDurable,
  ): Promise<{ spool: Spool; leftover: LeftoverSegment[] }> {
    await mkdir(dir, { recursive: true });
    const ids = (await readdir(dir))
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const leftover: LeftoverSegment[] = [];
    for (const id of ids) leftover.push(await readSegment(dir, id));
    const spool = new Spool(dir, (ids.at(-1) ?? 0) + 1, onDurable);
    await spool.openActive();
    return { spool, leftover };
  }

  /** Id of the segment new appends go to. */
  get active(): number {
    return this.activeId;
  }

  /** Bytes written to the active segment. */
  get activeBytes(): number {
    return this.bytes;
  }

  /** Append a batch; resolves with its segment once it is fsynced. */
  append(batch: ValidPoint[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ line: JSON.stringify(batch) + '\n', batch, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.run(() => this.flush());
      }
    });
  }

  /** Close the active segment and start a new one; resolves with the id of the closed one. */
  rotate(): Promise<number> {
    return this.run(async () => {
      const closed = this.activeId;
      await this.fd?.close();
      this.fd = undefined;
      this.activeId++;
      await this.openActive();
      return closed;
    });
  }

  async remove(id: number): Promise<void> {
    if (id >= this.activeId) throw new Error(`cannot remove the active spool segment ${id}`);
    await unlink(join(this.dir, segmentName(id))).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  /** Wait for every append so far; then close the file (an empty active segment is removed). */
  async close(): Promise<void> {
    await this.run(async () => {
      await this.fd?.close();
      this.fd = undefined;
      if (this.bytes === 0) {
        await unlink(join(this.dir, segmentName(this.activeId))).catch(() => undefined);
      }
    });
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.chain.then(op);
    this.chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async openActive(): Promise<void> {
    this.fd = await open(join(this.dir, segmentName(this.activeId)), 'a');
    this.bytes = 0;
    this.broken = false;
    // The new file's directory entry must be durable too, or a crash could lose the whole file.
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) return;
    try {
      // After a failed write the segment may end in a partial line: later lines go elsewhere.
      if (this.broken || this.fd === undefined) {
        await this.fd?.close();
        this.activeId++;
        await this.openActive();
      }
      const text = group.map((p) => p.line).join('');
      const fd = this.fd as FileHandle;
      try {
        await fd.write(text);
        await fd.datasync();
      } catch (error) {
        this.broken = true;
        throw error;
      }
      this.bytes += Buffer.byteLength(text);
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    this.onDurable(
      this.activeId,
      group.map((p) => p.batch),
    );
    for (const p of group) p.resolve(this.activeId);
  }
}

async function readSegment(dir: string, id: number): Promise<LeftoverSegment> {
  const text = await readFile(join(dir, segmentName(id)), 'utf8');
  const batches: ValidPoint[][] = [];
  let start = 0;
  let tornBytes = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const line = end < 0 ? text.slice(start) : text.slice(start, end);
    try {
      if (end < 0) throw new Error('no newline');
      batches.push(JSON.parse(line) as ValidPoint[]);
    } catch {
      tornBytes = text.length - start;
      break;
    }
    start = end + 1;
  }
  return { id, batches, tornBytes };
}
