/**
 * Scoring dispatch: durable batches wait here in log order and go to the shards in slices of at
 * most SLICE_POINTS, one slice per turn of the event loop so acks and I/O keep flowing. Tracks
 * which slices each shard has not answered, so `idle()` can tell when everything handed over is
 * scored, and reports detection latency per batch. Can be held (no new slices) for a checkpoint.
 */
import { performance } from 'node:perf_hooks';
import type { EngineMetrics } from '../metrics.js';
import type { ValidPoint } from '../validate.js';
import type { ShardBatch } from './protocol.js';
import type { SeriesTable } from './series-table.js';

/** Points per scoring slice. */
const SLICE_POINTS = 20_000;

/** Batches handed to the shards together; done when every shard that got rows answered. */
interface Slice {
  pending: number;
  readonly points: number;
  /** Values (metrics of the points): what `unscored` counts. */
  readonly values: number;
  /** When each batch became durable (performance.now()); with metrics only. */
  readonly durableAt: readonly number[];
}

export class ScoringQueue {
  private readonly queue: ValidPoint[][] = [];
  /** Values of each queued batch. */
  private readonly queueValues: number[] = [];
  /** When each queued batch became durable (performance.now()); kept with metrics only. */
  private readonly queueDurableAt: number[] = [];
  private queuedValues = 0;
  private scheduled = false;
  private held = false;
  /** Slices each shard has been given and not answered yet, oldest first. */
  private readonly inflight: Slice[][];
  private inflightSlices = 0;
  private idleWaiters: (() => void)[] = [];
  /** Evicted series of a slice being brought back; nothing more is handed out meanwhile. */
  private reviving: Promise<void> | undefined;

  constructor(
    private readonly table: SeriesTable,
    /** Hand a shard its part of a slice (an in-process shard answers before returning). */
    private readonly score: (shard: number, batch: ShardBatch) => void,
    private readonly metrics: EngineMetrics | undefined,
    /** Idle series evicted from memory (by shard), and how to bring some back. */
    private readonly evicted?: {
      readonly ids: readonly Set<number>[];
      revive(shard: number, ids: readonly number[]): Promise<void>;
    },
  ) {
    this.inflight = Array.from({ length: table.shards }, () => []);
  }

  /** Values (metrics of points) queued or handed to shards and not scored yet. */
  get unscored(): number {
    return this.queuedValues;
  }

  /** Queue durable batches, in log order. */
  push(batches: readonly ValidPoint[][]): void {
    const durableAt = this.metrics === undefined ? 0 : performance.now();
    for (const points of batches) {
      let values = 0;
      for (const p of points) values += Object.keys(p.metrics).length;
      this.queue.push(points);
      this.queueValues.push(values);
      if (this.metrics !== undefined) this.queueDurableAt.push(durableAt);
      this.queuedValues += values;
    }
    this.schedule();
  }

  /** Hand everything queued to the shards now (in-process: score it now), unless held. */
  drain(budget = Number.POSITIVE_INFINITY): void {
    let done = 0;
    while (!this.held && this.reviving === undefined && done < budget && this.queue.length > 0) {
      const batches: ValidPoint[][] = [];
      let points = 0;
      let values = 0;
      while (this.queue.length > 0 && points < SLICE_POINTS) {
        const batch = this.queue.shift() as ValidPoint[];
        batches.push(batch);
        points += batch.length;
        values += this.queueValues.shift() as number;
      }
      const durableAt =
        this.metrics === undefined ? [] : this.queueDurableAt.splice(0, batches.length);
      done += points;
      const parts = this.table.encode(batches);
      const slice: Slice = { pending: 0, points, values, durableAt };
      parts.forEach((part, i) => {
        if (part === undefined) return;
        slice.pending++;
        this.inflight[i]?.push(slice);
      });
      this.inflightSlices++;
      if (slice.pending === 0) {
        this.finish(slice);
        continue;
      }
      const send = (): void =>
        parts.forEach((part, i) => {
          if (part !== undefined) this.score(i, part);
        });
      const back = this.evictedIn(parts);
      if (back === undefined) {
        send();
        continue;
      }
      // Evicted series first get their state back; this slice waits, and everything after it.
      const evicted = this.evicted as NonNullable<typeof this.evicted>;
      this.reviving = Promise.all(
        back.map((ids, i) => (ids.length > 0 ? evicted.revive(i, ids) : undefined)),
      ).then(() => {
        send();
        this.reviving = undefined;
        this.schedule();
      });
    }
  }

  /** Per shard, the evicted series these parts have points for; undefined when none. */
  private evictedIn(parts: readonly (ShardBatch | undefined)[]): number[][] | undefined {
    if (this.evicted === undefined) return undefined;
    let out: Set<number>[] | undefined;
    parts.forEach((part, shard) => {
      const ids = this.evicted?.ids[shard];
      if (part === undefined || ids === undefined || ids.size === 0) return;
      for (const id of part.ids) {
        if (!ids.has(id)) continue;
        out ??= parts.map(() => new Set<number>());
        out[shard]?.add(id);
      }
    });
    return out?.map((ids) => [...ids]);
  }

  /** Hand everything queued to the shards, waiting for evicted series being brought back. */
  async drainAll(): Promise<void> {
    for (;;) {
      while (this.reviving !== undefined) await this.reviving;
      this.drain();
      if (this.reviving === undefined) return;
    }
  }

  /** Hand over everything queued, then hold new batches back until `release`. */
  async drainAndHold(): Promise<void> {
    this.held = false;
    await this.drainAll();
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.schedule();
  }

  /** A shard answered its oldest slice. */
  answered(shard: number): void {
    const slice = this.inflight[shard]?.shift();
    if (slice !== undefined && --slice.pending === 0) this.finish(slice);
  }

  /** Resolves when every batch handed to the shards has been scored. */
  idle(): Promise<void> {
    if (this.inflightSlices === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.held) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain(SLICE_POINTS);
      if (this.queue.length > 0) this.schedule();
    });
  }

  private finish(slice: Slice): void {
    this.queuedValues -= slice.values;
    if (this.metrics !== undefined) {
      const now = performance.now();
      for (const at of slice.durableAt) this.metrics.detectionLatency((now - at) / 1000);
    }
    this.inflightSlices--;
    if (this.inflightSlices === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }
}
