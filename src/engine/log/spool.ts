/**
 * The spool's segment files: batches appended to the active segment and fsynced, concurrent
 * appends group-committed (one write + one fdatasync); numbered segments, rotated on request and
 * removed by id. A batch is its COPY text rows (spool-record.ts) and an empty line; a torn last
 * batch (never acknowledged) is dropped on reading; legacy `.ndjson` segments are still read.
 * spool-log.ts makes this a DurableLog; docs/engine.md, "Durability and crashes".
 */
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { readSpooledBatch, spooledBatch, type SpooledBatch } from '../spool-record.js';
import type { ValidPoint } from '../validate.js';

const SEGMENT = /^spool-(\d{12})\.(rows|ndjson)$/;
const LEGACY = 'ndjson';

function segmentName(id: number): string {
  return `spool-${String(id).padStart(12, '0')}.rows`;
}

export interface LeftoverSegment {
  readonly id: number;
  readonly batches: SpooledBatch[];
  /** Bytes at the end that did not parse (a torn, unacknowledged write). */
  readonly tornBytes: number;
  /** Bytes of the whole file. */
  readonly bytes: number;
}

interface Pending {
  readonly batch: SpooledBatch;
  resolve(segment: number): void;
  reject(error: unknown): void;
}

/**
 * Called once a group of batches is durable, before their appends resolve, in spool order, with
 * the bytes the group took.
 */
export type OnDurable = (segment: number, batches: readonly SpooledBatch[], bytes: number) => void;

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
    /** Segment file name of each id a previous run left (their format differs by version). */
    private readonly leftoverNames: ReadonlyMap<number, string>,
  ) {}

  /** Open the spool directory; returns the segments a previous run left, oldest first. */
  static async open(
    dir: string,
    onDurable: OnDurable,
  ): Promise<{ spool: Spool; leftover: LeftoverSegment[] }> {
    await mkdir(dir, { recursive: true });
    const names = new Map<number, string>();
    for (const name of await readdir(dir)) {
      const id = SEGMENT.exec(name)?.[1];
      if (id !== undefined) names.set(Number(id), name);
    }
    const ids = [...names.keys()].sort((a, b) => a - b);
    const leftover: LeftoverSegment[] = [];
    for (const id of ids) leftover.push(await readSegment(join(dir, names.get(id) as string), id));
    const spool = new Spool(dir, (ids.at(-1) ?? 0) + 1, onDurable, names);
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
  append(batch: SpooledBatch): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
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

  /** Read a segment back from its file (the active one may end in a write under way: torn). */
  read(id: number): Promise<LeftoverSegment> {
    return readSegment(this.file(id), id);
  }

  async remove(id: number): Promise<void> {
    if (id >= this.activeId) throw new Error(`cannot remove the active spool segment ${id}`);
    await unlink(this.file(id)).catch((error: NodeJS.ErrnoException) => {
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

  private file(id: number): string {
    return join(this.dir, this.leftoverNames.get(id) ?? segmentName(id));
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
    let written: number;
    try {
      // After a failed write the segment may end in a partial line: later lines go elsewhere.
      if (this.broken || this.fd === undefined) {
        await this.fd?.close();
        this.activeId++;
        await this.openActive();
      }
      let text = '';
      for (const p of group) text += p.batch.rows.text + '\n';
      const fd = this.fd as FileHandle;
      try {
        await fd.write(text);
        await fd.datasync();
      } catch (error) {
        this.broken = true;
        throw error;
      }
      written = Buffer.byteLength(text);
      this.bytes += written;
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    this.onDurable(
      this.activeId,
      group.map((p) => p.batch),
      written,
    );
    for (const p of group) p.resolve(this.activeId);
  }
}

async function readSegment(file: string, id: number): Promise<LeftoverSegment> {
  const text = await readFile(file, 'utf8');
  const legacy = file.endsWith(`.${LEGACY}`);
  const batches: SpooledBatch[] = [];
  let start = 0;
  let tornBytes = 0;
  while (start < text.length) {
    // A batch ends at an empty line (rows) or at the end of its line (legacy JSON).
    const end = text.indexOf(legacy ? '\n' : '\n\n', start);
    try {
      if (end < 0) throw new Error('incomplete');
      batches.push(
        legacy
          ? spooledBatch(JSON.parse(text.slice(start, end)) as ValidPoint[])
          : readSpooledBatch(text.slice(start, end + 1)),
      );
    } catch {
      tornBytes = text.length - start;
      break;
    }
    start = end + (legacy ? 1 : 2);
  }
  return { id, batches, tornBytes, bytes: Buffer.byteLength(text) };
}
