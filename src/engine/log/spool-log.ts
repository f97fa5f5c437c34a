/**
 * The local spool as a DurableLog (durable-log.ts): positions are `<segment>:<index>` (zero-padded,
 * so they sort), and `<segment>:~` for the end of a segment closed by `sync`. `trim` removes whole
 * closed segments; what a previous run left is read once at open, logged if torn, and served to
 * the first `read` from memory.
 */
import type { SpooledBatch } from '../spool-record.js';
import {
  LOG_START,
  type DurableLog,
  type LogEntry,
  type LogPosition,
  type LogSize,
  type OnDurable,
} from './durable-log.js';
import { Spool } from './spool.js';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const at = (segment: number, index: number): LogPosition => `${pad(segment, 12)}:${pad(index, 10)}`;
const endOf = (segment: number): LogPosition => `${pad(segment, 12)}:~`;
const POSITION = /^(\d{12}):(\d{10}|~)$/;

/** Segment of a position, and its index there (Infinity: the end of the segment). */
function parse(position: LogPosition): { segment: number; index: number } {
  if (position === LOG_START) return { segment: -1, index: Infinity };
  const match = POSITION.exec(position);
  if (match === null) throw new Error(`not a spool log position: ${JSON.stringify(position)}`);
  return {
    segment: Number(match[1]),
    index: match[2] === '~' ? Infinity : Number(match[2]),
  };
}

interface Unit {
  bytes: number;
  entries: number;
}

export class SpoolLog implements DurableLog<SpooledBatch> {
  private spool!: Spool;
  private readonly units = new Map<number, Unit>();
  /** Batches a previous run left, until the first `read` takes them. */
  private readonly leftover = new Map<number, SpooledBatch[]>();
  private writing = -1;
  private next = 0;
  /** Positions of durable batches whose appends have not resolved yet, in order. */
  private readonly positions: LogPosition[] = [];

  private constructor(private readonly onDurable: OnDurable<SpooledBatch>) {}

  /** Open the spool in `dir` (created if missing); `log` hears of torn tails dropped. */
  static async open(
    dir: string,
    onDurable: OnDurable<SpooledBatch>,
    log: (message: string) => void = () => undefined,
  ): Promise<SpoolLog> {
    const self = new SpoolLog(onDurable);
    const { spool, leftover } = await Spool.open(dir, (segment, batches, bytes) =>
      self.durable(segment, batches, bytes),
    );
    self.spool = spool;
    for (const segment of leftover) {
      if (segment.tornBytes > 0) {
        log(
          `spool segment ${segment.id}: dropped a torn, unacknowledged tail of ${segment.tornBytes} bytes`,
        );
      }
      self.units.set(segment.id, { bytes: segment.bytes, entries: segment.batches.length });
      self.leftover.set(segment.id, segment.batches);
    }
    self.unit(spool.active);
    return self;
  }

  /** The segment appends go to now. */
  get activeSegment(): number {
    return this.spool.active;
  }

  append(batch: SpooledBatch): Promise<LogPosition> {
    // The spool resolves appends in order, each after `durable` numbered it: first in, first out.
    return this.spool.append(batch).then(() => this.positions.shift() as LogPosition);
  }

  async *read(after: LogPosition = LOG_START): AsyncIterable<LogEntry<SpooledBatch>> {
    const from = parse(after);
    for (const id of [...this.units.keys()].sort((a, b) => a - b)) {
      if (id < from.segment) continue;
      const batches = this.leftover.get(id) ?? (await this.spool.read(id)).batches;
      this.leftover.delete(id);
      for (let index = id === from.segment ? from.index + 1 : 0; index < batches.length; index++) {
        yield { position: at(id, index), batch: batches[index] as SpooledBatch };
      }
    }
  }

  async sync(): Promise<LogPosition> {
    const closed = await this.spool.rotate();
    this.unit(closed);
    this.unit(this.spool.active);
    return endOf(closed);
  }

  async trim(through: LogPosition): Promise<void> {
    const { segment, index } = parse(through);
    for (const id of [...this.units.keys()].sort((a, b) => a - b)) {
      const unit = this.units.get(id) as Unit;
      const covered = id < segment || (id === segment && index >= unit.entries - 1);
      if (!covered || id >= this.spool.active) break;
      await this.spool.remove(id);
      this.units.delete(id);
      this.leftover.delete(id);
    }
  }

  size(): LogSize {
    let bytes = 0;
    let entries = 0;
    for (const unit of this.units.values()) {
      bytes += unit.bytes;
      entries += unit.entries;
    }
    return { bytes, entries };
  }

  async close(): Promise<void> {
    await this.spool.close();
    const active = this.units.get(this.spool.active);
    if (active?.entries === 0) this.units.delete(this.spool.active);
  }

  private unit(id: number): Unit {
    let unit = this.units.get(id);
    if (unit === undefined) {
      unit = { bytes: 0, entries: 0 };
      this.units.set(id, unit);
    }
    return unit;
  }

  private durable(segment: number, batches: readonly SpooledBatch[], bytes: number): void {
    if (segment !== this.writing) {
      this.writing = segment;
      this.next = this.unit(segment).entries;
    }
    const unit = this.unit(segment);
    unit.bytes += bytes;
    unit.entries += batches.length;
    const entries = batches.map((batch) => ({ position: at(segment, this.next++), batch }));
    for (const entry of entries) this.positions.push(entry.position);
    this.onDurable(entries);
  }
}
