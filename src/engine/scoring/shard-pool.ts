/**
 * The scoring shards and how to reach them: one in-process shard (`workers: 0`) or one worker
 * thread per shard, each owning the devices that hash to it (series-table.ts). Routes restored
 * checkpoints, detect requests, strategy plans and commits, snapshots to the shards that own
 * them, and gathers the replies.
 */
import { isVectorStrategy } from '../../core/strategy/compile.js';
import type { PipelineSnapshot, SeriesPipeline } from '../../core/strategy/pipeline.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { Checkpoint, CheckpointHead, EncodedCheckpoint } from '../../store/store.js';
import type { ScoredPoint } from '../engine.js';
import type { ShadowSpec } from '../shadow/types.js';
import type { ValidPoint } from '../validate.js';
import type {
  RestoreItem,
  ReviveRequest,
  RoutedSeries,
  SeriesDef,
  ShardBatch,
  ShardEvent,
  ShardResult,
} from './protocol.js';
import { seriesKey, type EngineTag } from './checkpoint-keys.js';
import type { CheckpointPack } from './packed-checkpoints.js';
import { SeriesTable, shardOfDevice } from './series-table.js';
import { InProcessShard, WorkerShard, type ShardClient } from './shard-client.js';

export interface ShardPoolOptions {
  /** Worker threads; 0 scores on the main thread (one in-process shard). */
  readonly workers: number;
  readonly strategies: readonly Strategy[];
  readonly fallback: Strategy;
  readonly shadows: readonly ShadowSpec[];
  /** Each shard's results, in the order its batches were given. */
  readonly onResult: (shard: number, result: ShardResult) => void;
  /** A worker died (its state is gone). */
  readonly onFailure: (shard: number, error: Error) => void;
}

export class ShardPool {
  readonly table: SeriesTable;
  readonly shards: readonly ShardClient[];
  /** Ids of the series each shard evicted (idle), until their next point brings them back. */
  readonly evicted: Set<number>[];

  constructor(options: ShardPoolOptions) {
    const { workers, onResult, onFailure } = options;
    this.table = new SeriesTable(Math.max(1, workers));
    this.evicted = Array.from({ length: this.table.shards }, () => new Set<number>());
    const init = {
      strategies: [...options.strategies],
      fallback: options.fallback,
      shadows: [...options.shadows],
    };
    this.shards = Array.from({ length: this.table.shards }, (_, i) =>
      workers === 0
        ? new InProcessShard(init, (result) => onResult(i, result))
        : new WorkerShard(
            init,
            `vigil-scoring-${i}`,
            (result) => onResult(i, result),
            (error) => onFailure(i, error),
          ),
    );
  }

  score(shard: number, batch: ShardBatch): void {
    this.shards[shard]?.score(batch);
  }

  /**
   * Restore pipeline checkpoints on the shards that own their devices (any worker count restores
   * any other's). `loaded` finds the checkpoint's strategy; without it the series starts afresh.
   */
  async restore(
    checkpoints: readonly Required<Checkpoint>[],
    loaded: (name: string, version: number) => Strategy | undefined,
    log: (message: string) => void,
  ): Promise<void> {
    const items = this.shards.map(() => [] as RestoreItem[]);
    for (const cp of checkpoints) {
      const snapshot = cp.snapshot as typeof cp.snapshot & Partial<EngineTag>;
      const tag = snapshot.engine;
      const strategy = loaded(snapshot.strategy, snapshot.version);
      if (tag === undefined || strategy === undefined) {
        log(
          `checkpoint ${cp.key}: strategy ${snapshot.strategy}@${snapshot.version} is not loaded; starting afresh`,
        );
        continue;
      }
      const vector = isVectorStrategy(strategy);
      if (tag.metric === null) {
        if (!vector) continue;
        items[this.table.shardOf(tag.device)]?.push({
          kind: 'group',
          device: tag.device,
          checkpoint: cp,
        });
      } else {
        if (vector) continue;
        const interned = this.table.intern(tag.device, tag.metric);
        if (interned === undefined) continue;
        items[interned.shard]?.push({ kind: 'series', def: interned.def, checkpoint: cp });
      }
    }
    await this.sendRestore(items);
  }

  /**
   * Series known at start by their checkpoint's head alone (state-codec.ts format 2): interned
   * now, so they exist and count toward the caps, and marked as evicted, so each state is read
   * and restored just before the series' next point (`revive`), not all of them before ready.
   */
  restoreLazily(
    heads: readonly CheckpointHead[],
    loaded: (name: string, version: number) => Strategy | undefined,
    log: (message: string) => void,
  ): void {
    for (const { key, head } of heads) {
      const strategy = loaded(head.strategy, head.version);
      if (strategy === undefined) {
        log(
          `checkpoint ${key}: strategy ${head.strategy}@${head.version} is not loaded; starting afresh`,
        );
        continue;
      }
      if (isVectorStrategy(strategy)) continue;
      const interned = this.table.intern(head.device, head.metric);
      if (interned !== undefined) this.evicted[interned.shard]?.add(interned.def.id);
    }
  }

  /** Restore items already split by shard (shadow candidates). */
  async sendRestore(items: readonly (readonly RestoreItem[])[]): Promise<void> {
    await Promise.all(
      this.shards.map((s, i) =>
        (items[i]?.length ?? 0) === 0
          ? Promise.resolve()
          : s.request({ op: 'restore', items: items[i] ?? [] }),
      ),
    );
  }

  /**
   * Encoded checkpoints of every pipeline changed since the last, per shard, after what it was
   * given (each shard encodes its own: in its worker thread when it has one).
   */
  async snapshot(wallTime: number, evictIdleMs = 0): Promise<CheckpointPack[][]> {
    const replies = await Promise.all(
      this.shards.map((s) => s.request({ op: 'snapshot', wallTime, evictIdleMs })),
    );
    replies.forEach((r, i) => {
      for (const id of r.evicted) this.evicted[i]?.add(id);
    });
    return replies.map((r) => r.packs);
  }

  /** Series evicted and not back yet. */
  get evictedCount(): number {
    let n = 0;
    for (const ids of this.evicted) n += ids.size;
    return n;
  }

  /**
   * Bring these evicted (or lazily restored) series of `shard` back from their stored
   * checkpoints, handed over encoded. The request goes to the shard before any later batch, so
   * it lands before their next point.
   */
  async revive(
    shard: number,
    ids: readonly number[],
    load: (keys: readonly string[]) => Promise<readonly EncodedCheckpoint[]>,
    log: (message: string) => void,
  ): Promise<void> {
    const names = this.table.names[shard];
    if (names === undefined) return;
    const defs = ids.map((id) => ({
      id,
      device: names.device[id] as string,
      metric: names.metric[id] as string,
      tags: undefined,
    }));
    const keys = defs.map((d) => seriesKey(d.device, d.metric));
    let stored: readonly EncodedCheckpoint[];
    try {
      stored = await load(keys);
    } catch (error) {
      // Scoring cannot wait for the store for ever: these series start afresh (logged).
      log(`bringing back ${ids.length} idle series failed, they start afresh: ${String(error)}`);
      stored = [];
    }
    for (const id of ids) this.evicted[shard]?.delete(id);
    const reply = await this.shards[shard]?.request({
      op: 'revive',
      ...reviveRequest(defs, keys, stored),
    });
    for (const why of reply?.afresh ?? []) log(`checkpoint ${why}; the series starts afresh`);
  }

  /** Mark pipelines changed again (their checkpoints were not written). */
  async dirty(keys: readonly (readonly string[])[]): Promise<void> {
    await Promise.all(this.shards.map((s, i) => s.request({ op: 'dirty', keys: keys[i] ?? [] })));
  }

  async plan(strategies: readonly Strategy[], fallback: Strategy): Promise<RoutedSeries[]> {
    const replies = await Promise.all(
      this.shards.map((s) => s.request({ op: 'plan', strategies: [...strategies], fallback })),
    );
    return replies.flatMap((r) => r.series);
  }

  /** Every shard gets the commit now, behind the batches it was already given. */
  async commit(
    strategies: readonly Strategy[],
    fallback: Strategy,
    warm: ReadonlyMap<string, SeriesPipeline>,
  ): Promise<{ moved: number; events: ShardEvent[] }> {
    const parts = this.shards.map(() => [] as [string, PipelineSnapshot][]);
    for (const [key, pipeline] of warm) {
      const device = key.slice(0, key.indexOf('\u0000'));
      parts[this.table.shardOf(device)]?.push([key, pipeline.snapshot()]);
    }
    const replies = await Promise.all(
      this.shards.map((s, i) =>
        s.request({ op: 'commit', strategies: [...strategies], fallback, warm: parts[i] ?? [] }),
      ),
    );
    let moved = 0;
    const events: ShardEvent[] = [];
    for (const reply of replies) {
      moved += reply.moved;
      events.push(...reply.events);
    }
    return { moved, events };
  }

  /** Each shard scores its devices' points against copies of its live state. */
  async detect(valid: readonly ValidPoint[]): Promise<ScoredPoint[]> {
    const count = this.shards.length;
    const byShard = this.shards.map(() => ({ points: [] as ValidPoint[], at: [] as number[] }));
    valid.forEach((point, i) => {
      const part = byShard[shardOfDevice(point.device_id, count)];
      part?.points.push(point);
      part?.at.push(i);
    });
    const perPoint: ScoredPoint[][] = new Array<ScoredPoint[]>(valid.length);
    await Promise.all(
      this.shards.map(async (s, i) => {
        const part = byShard[i];
        if (part === undefined || part.points.length === 0) return;
        const reply = await s.request({ op: 'detect', points: part.points });
        reply.scores.forEach((scores, k) => {
          perPoint[part.at[k] as number] = scores;
        });
      }),
    );
    return perPoint.flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

/** The revive request of `defs` (keys in the same order), their stored states packed. */
function reviveRequest(
  defs: readonly SeriesDef[],
  keys: readonly string[],
  stored: readonly EncodedCheckpoint[],
): ReviveRequest {
  const byKey = new Map(stored.map((cp) => [cp.key, cp]));
  const at = new Int32Array(defs.length).fill(-1);
  const found: EncodedCheckpoint[] = [];
  keys.forEach((key, i) => {
    const cp = byKey.get(key);
    if (cp === undefined) return;
    at[i] = found.length;
    found.push(cp);
  });
  const ends = new Uint32Array(found.length);
  let size = 0;
  found.forEach((cp, k) => {
    size += cp.state.byteLength;
    ends[k] = size;
  });
  const states = new Uint8Array(size);
  found.forEach((cp, k) => states.set(cp.state, k === 0 ? 0 : (ends[k - 1] as number)));
  return {
    defs,
    at,
    keys: found.map((cp) => cp.key),
    eventTimes: Float64Array.from(found, (cp) => cp.eventTime),
    ends,
    states,
  };
}
