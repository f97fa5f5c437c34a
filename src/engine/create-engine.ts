/**
 * The engine (docs/engine.md): validate → spool (group-committed fsync, the ack) → score in
 * event-time order per series and → store in the background; checkpoints of every pipeline;
 * replay of the spool on start. Scoring runs in shards keyed by device (src/engine/scoring/):
 * on the main thread (`workers: 0`) or in worker threads fed with typed-array batches.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { isVectorStrategy } from '../core/strategy/compile.js';
import { parseStrategy } from '../core/strategy/parse.js';
import { resolveStrategy } from '../strategy-files/load.js';
import type { PipelineSnapshot, SeriesPipeline } from '../core/strategy/pipeline.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { Checkpoint, Store, StoredEvent } from '../store/store.js';
import {
  BackpressureError,
  type Engine,
  type EngineFeedItem,
  type EngineStats,
  type StrategyRouting,
  type IngestPoint,
  type IngestResult,
  type ScoredPoint,
} from './engine.js';
import { engineMetrics, type EngineMetrics } from './metrics.js';
import {
  LEVELS,
  NOT_SCORED,
  type RestoreItem,
  type ShardEvent,
  type ShardResult,
  type WorkerInit,
} from './scoring/protocol.js';
import type { EngineTag } from './scoring/scoring-shard.js';
import { SeriesTable, shardOfDevice } from './scoring/series-table.js';
import { InProcessShard, WorkerShard, type ShardClient } from './scoring/shard-client.js';
import { isShadowKey, shadowRestoreItems } from './shadow/shadow-checkpoints.js';
import { shadowControl, type ShadowControl } from './shadow/shadow-control.js';
import type { ShadowSpec } from './shadow/types.js';
import { Spool } from './spool.js';
import { spooledBatch, type SpooledBatch } from './spool-record.js';
import { StoreWriter, type StoreChunk } from './store-writer.js';
import { DEFAULT_LIMITS, validateBatch, type Limits, type ValidPoint } from './validate.js';

export interface EngineOptions {
  readonly store: Store;
  /** Ordered: the first whose trigger_rules match a series scores it. */
  readonly strategies?: readonly Strategy[];
  /** Used when no strategy matches; default: the built-in `default`. */
  readonly defaultStrategy?: Strategy;
  /** Directory of the write-ahead spool (created if missing). */
  readonly spoolDir: string;
  /**
   * Make the strategies that were active when the engine last ran active again (as hot reload
   * or a rollback left them; they are saved at every swap), except where `strategies` or
   * `defaultStrategy` holds a higher version of the same name. `vigil serve` sets it.
   */
  readonly resumeStrategies?: boolean;
  /**
   * Worker threads that hold the series' detector state and score, each owning the devices whose
   * id hashes to it; 0 (the default here) scores on the main thread. docs/engine.md has the
   * measurements behind `vigil serve`'s default.
   */
  readonly workers?: number;
  /** Most points accepted and not yet stored and scored; beyond it ingest is refused. */
  readonly queueLimit?: number;
  /** Wall-clock period of checkpoints; 0 disables the timer (close still checkpoints). */
  readonly checkpointEveryMs?: number;
  /** Wall clock (ms), for checkpoint times and retry estimates. */
  readonly clock?: () => number;
  readonly limits?: Partial<Limits>;
  /** Most rows per store transaction. */
  readonly storeBatchRows?: number;
  /** Most `ok` scores per second published on the feed (flagged ones always are). */
  readonly scoreFeedPerSecond?: number;
  /** Where to report background problems (store retries, torn spool tails). */
  readonly log?: (message: string) => void;
  /**
   * Prometheus registry to register the engine's metrics on (docs/operations.md): detection
   * latency, event changes, store write latency and errors. None when absent.
   */
  readonly registry?: Registry;
  /**
   * A scoring worker died (a bug: its state is gone). Default: throw it uncaught, so the process
   * exits and a restart recovers from the spool and checkpoints as after `kill -9`.
   */
  readonly onFatal?: (error: Error) => void;
  /** Shadow runs to score from the start, replayed points included (docs/shadow.md). */
  readonly shadows?: readonly ShadowSpec[];
}

/** Batches handed to the shards together; done when every shard that got rows answered. */
interface Slice {
  pending: number;
  readonly points: number;
  /** When each batch became durable (performance.now()); with metrics only. */
  readonly durableAt: readonly number[];
}

/** Checkpoint key of the active strategy set (not a pipeline; see `resumeStrategies`). */
const ACTIVE_KEY = 'r:active-strategies';

interface ActiveRecord {
  readonly strategy: typeof ACTIVE_KEY;
  readonly version: 1;
  readonly active: readonly { readonly name: string; readonly version: number }[];
  readonly fallback: { readonly name: string; readonly version: number };
}

/** Points per scoring slice: one turn of the event loop, so acks and I/O keep flowing. */
const SLICE_POINTS = 20_000;
/**
 * Checkpoints per store write, each write serialised to JSON in one go: a `default` series'
 * state is ~50 KB, so 1,000 at once blocked the event loop (and every ack) for ~100 ms, 100 for
 * ~15 ms; 20 keep it to a few.
 */
const CHECKPOINT_PUT = 20;

/**
 * The default number of scoring workers of `vigil serve`: none on one core; one on two (measured
 * on this 2-core machine: 1.10–1.14× the end-to-end rate of scoring on the main thread once
 * ingest itself got cheaper, docs/engine.md); else one per core beyond the two left to the main
 * thread and the database, at most 4 (not measured: no such machine here).
 */
export function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores <= 1 ? 0 : Math.min(4, Math.max(1, cores - 2));
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const fallback = options.defaultStrategy ?? (await resolveStrategy('default'));
  const engine = new StreamingEngine(options, fallback);
  await engine.start();
  return engine;
}

class StreamingEngine implements Engine {
  private readonly store: Store;
  private strategies: readonly Strategy[];
  private fallback: Strategy;
  private readonly limits: Limits;
  private readonly queueLimit: number;
  private readonly clock: () => number;
  private readonly feedBudget: number;
  private readonly log: (message: string) => void;
  private spool!: Spool;

  private readonly workers: number;
  private readonly table: SeriesTable;
  private readonly shards: ShardClient[] = [];
  /** Slices each shard has been given and not answered yet, oldest first. */
  private readonly inflight: Slice[][];
  private inflightSlices = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly listeners = new Set<(item: EngineFeedItem) => void>();

  private readonly scoreQueue: ValidPoint[][] = [];
  /** When each batch in `scoreQueue` became durable (performance.now()); kept with metrics only. */
  private readonly scoreQueueDurableAt: number[] = [];
  private readonly metrics: EngineMetrics | undefined;
  private scoreQueued = 0;
  private scoreScheduled = false;
  private scoringPaused = false;

  private readonly writer: StoreWriter;
  /** Points accepted (from validation) and not yet committed to the store. */
  private unstored = 0;
  private readonly segments = new Set<number>();
  private checkpointedThrough = 0;
  private pendingEvents = new Map<string, StoredEvent>();
  private eventChain: Promise<void> = Promise.resolve();
  private checkpointChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;

  private feedWindow = 0;
  private feedUsed = 0;
  private counters = {
    accepted: 0,
    rejected: 0,
    stored: 0,
    scored: 0,
    notScored: 0,
    checkpoints: 0,
  };
  private lastCheckpointWall: number | null = null;
  readonly shadows: ShadowControl;

  constructor(
    private readonly options: EngineOptions,
    fallbackStrategy: Strategy,
  ) {
    this.store = options.store;
    this.strategies = options.strategies ?? [];
    this.fallback = fallbackStrategy;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.queueLimit = options.queueLimit ?? 1_000_000;
    this.clock = options.clock ?? Date.now;
    this.feedBudget = options.scoreFeedPerSecond ?? 1000;
    this.log = options.log ?? (() => undefined);
    this.metrics = options.registry === undefined ? undefined : engineMetrics(options.registry);
    this.writer = new StoreWriter({
      store: this.store,
      batchRows: options.storeBatchRows ?? 50_000,
      clock: this.clock,
      metrics: this.metrics,
      log: this.log,
      onCommitted: (chunks) => this.onStored(chunks),
    });
    this.workers = Math.max(0, Math.floor(options.workers ?? 0));
    const count = Math.max(1, this.workers);
    this.table = new SeriesTable(count);
    this.inflight = Array.from({ length: count }, () => []);
    this.shadows = shadowControl(
      options.shadows ?? [],
      () => this.shards,
      (e) => this.pendingEvents.set(e.stored.id, e.stored),
    );
  }

  readonly routing: StrategyRouting = {
    active: () => ({ strategies: this.strategies, fallback: this.fallback }),
    plan: async (strategies, fallback) => {
      const replies = await Promise.all(
        this.shards.map((s) => s.request({ op: 'plan', strategies: [...strategies], fallback })),
      );
      return replies.flatMap((r) => r.series);
    },
    commit: (strategies, fallback, warm) => this.commitRoutes(strategies, fallback, warm),
  };

  private async commitRoutes(
    strategies: readonly Strategy[],
    fallback: Strategy,
    warm: ReadonlyMap<string, SeriesPipeline>,
  ): Promise<number> {
    const parts = this.shards.map(() => [] as [string, ReturnType<SeriesPipeline['snapshot']>][]);
    for (const [key, pipeline] of warm) {
      const device = key.slice(0, key.indexOf('\u0000'));
      parts[this.table.shardOf(device)]?.push([key, pipeline.snapshot()]);
    }
    this.strategies = [...strategies];
    this.fallback = fallback;
    // Every shard gets the commit now, behind the batches it was already given.
    const replies = await Promise.all(
      this.shards.map((s, i) =>
        s.request({ op: 'commit', strategies: [...strategies], fallback, warm: parts[i] ?? [] }),
      ),
    );
    let moved = 0;
    for (const reply of replies) {
      moved += reply.moved;
      for (const e of reply.events) this.onEvent(e);
    }
    await this.saveActive().catch((error: unknown) =>
      this.log(
        `saving the active strategies failed (a restart may not resume them): ${String(error)}`,
      ),
    );
    return moved;
  }

  /** The active set, persisted for `resumeStrategies`. */
  private async saveActive(): Promise<void> {
    const record: ActiveRecord = {
      strategy: ACTIVE_KEY,
      version: 1,
      active: this.strategies.map((s) => ({ name: s.name, version: s.version })),
      fallback: { name: this.fallback.name, version: this.fallback.version },
    };
    const wallTime = this.clock();
    await this.store.checkpoints.put([
      { key: ACTIVE_KEY, snapshot: record as unknown as PipelineSnapshot, eventTime: wallTime },
    ]);
  }

  private async resumeActive(record: ActiveRecord): Promise<void> {
    const pick = async (saved: ActiveRecord['fallback'], given: Strategy | undefined) => {
      if (given !== undefined && given.version >= saved.version) return given;
      const stored = await this.store.strategies.get(saved.name, saved.version);
      if (stored === undefined) {
        this.log(
          `strategy ${saved.name}@${saved.version} was active but is not stored; not resumed`,
        );
        return given;
      }
      try {
        const strategy = parseStrategy(stored.yaml, `${saved.name}@${saved.version} (stored)`);
        this.log(`strategy ${saved.name}@${saved.version} resumed (active when last stopped)`);
        return strategy;
      } catch (error) {
        this.log(`strategy ${saved.name}@${saved.version} cannot be resumed: ${String(error)}`);
        return given;
      }
    };
    if (record.fallback?.name === this.fallback.name) {
      this.fallback = (await pick(record.fallback, this.fallback)) ?? this.fallback;
    }
    const byName = new Map(this.strategies.map((s) => [s.name, s]));
    for (const saved of record.active ?? []) {
      const chosen = await pick(saved, byName.get(saved.name));
      if (chosen !== undefined) byName.set(saved.name, chosen);
    }
    // Routing order: by name, as hot reload keeps it.
    this.strategies = [...byName.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }

  /** Start the shards (worker threads, or one in-process shard) with the active strategies. */
  private createShards(): void {
    const count = this.inflight.length;
    const init: WorkerInit = {
      strategies: [...this.strategies],
      fallback: this.fallback,
      shadows: [...this.shadows.runs()],
    };
    const onFatal =
      this.options.onFatal ??
      ((error: Error) => {
        process.nextTick(() => {
          throw error;
        });
      });
    this.shards.push(
      ...Array.from({ length: count }, (_, i) =>
        this.workers === 0
          ? new InProcessShard(init, (result) => this.onResult(i, result))
          : new WorkerShard(
              init,
              `vigil-scoring-${i}`,
              (result) => this.onResult(i, result),
              (error) => {
                this.log(`scoring worker ${i} failed: ${error.message}`);
                if (!this.closing) onFatal(error);
              },
            ),
      ),
    );
  }

  /** The active strategy `name@version`, if loaded, for a checkpoint to restore. */
  private loaded(name: string, version: number): Strategy | undefined {
    return [...this.strategies, this.fallback].find(
      (s) => s.name === name && s.version === version,
    );
  }

  async start(): Promise<void> {
    const checkpoints = await this.store.checkpoints.getAll();
    const record = checkpoints.find((cp) => cp.key === ACTIVE_KEY);
    if (this.options.resumeStrategies === true) {
      if (record !== undefined) await this.resumeActive(record.snapshot as unknown as ActiveRecord);
      await this.saveActive();
    }
    this.createShards();
    await this.restore(checkpoints.filter((cp) => cp.key !== ACTIVE_KEY && !isShadowKey(cp.key)));
    await this.sendRestore(
      shadowRestoreItems(
        checkpoints.filter((cp) => isShadowKey(cp.key)),
        this.shadows.runs(),
        this.shards.length,
        (device) => this.table.shardOf(device),
        this.log,
      ),
    );
    const { spool, leftover } = await Spool.open(this.options.spoolDir, (segment, batches) =>
      this.onDurable(segment, batches),
    );
    this.spool = spool;
    // Replay: the store dedups points already committed; scoring skips what checkpoints cover.
    for (const segment of leftover) {
      if (segment.tornBytes > 0) {
        this.log(
          `spool segment ${segment.id}: dropped a torn, unacknowledged tail of ${segment.tornBytes} bytes`,
        );
      }
      for (const batch of segment.batches) this.unstored += batch.points.length;
      this.onDurable(segment.id, segment.batches);
      if (segment.batches.length === 0) this.segments.add(segment.id);
    }
    const every = this.options.checkpointEveryMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.checkpoint().catch((error: unknown) =>
          this.log(`checkpoint failed: ${String(error)}`),
        );
      }, every);
      this.timer.unref();
    }
    await this.sweepSegments();
  }

  /** Checkpoints go to the shard that owns their device (any worker count restores any other). */
  private async restore(checkpoints: readonly Required<Checkpoint>[]): Promise<void> {
    const items = this.shards.map(() => [] as RestoreItem[]);
    for (const cp of checkpoints) {
      const snapshot = cp.snapshot as typeof cp.snapshot & Partial<EngineTag>;
      const tag = snapshot.engine;
      const strategy = this.loaded(snapshot.strategy, snapshot.version);
      if (tag === undefined || strategy === undefined) {
        this.log(
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

  private async sendRestore(items: readonly (readonly RestoreItem[])[]): Promise<void> {
    await Promise.all(
      this.shards.map((s, i) =>
        (items[i]?.length ?? 0) === 0
          ? Promise.resolve()
          : s.request({ op: 'restore', items: items[i] ?? [] }),
      ),
    );
  }

  // ---- ingest ----

  async ingest(
    points: readonly IngestPoint[],
    source: string,
    onQueued?: () => void,
  ): Promise<IngestResult> {
    if (this.closing) {
      throw new VigilError('VIGIL_ERR_NOT_READY', 'the engine is shutting down');
    }
    if (this.queued() + points.length > this.queueLimit) {
      this.counters.rejected += points.length;
      this.metrics?.ingested(source, 'backpressure', points.length);
      throw new BackpressureError(this.retryAfterMs(points.length));
    }
    const { valid, errors } = validateBatch(points, this.limits);
    this.metrics?.ingested(source, 'rejected', errors.length);
    if (valid.length === 0) {
      onQueued?.();
      return { accepted: 0, errors };
    }
    this.unstored += valid.length;
    // append() queues the batch synchronously: its place in the spool (and scoring) order is set.
    const durable = this.spool.append(spooledBatch(valid));
    onQueued?.();
    try {
      await durable;
    } catch (error) {
      this.unstored -= valid.length;
      throw new VigilError('VIGIL_ERR_STORE_WRITE', `spool write failed: ${String(error)}`, {
        cause: error,
      });
    }
    this.counters.accepted += valid.length;
    this.metrics?.ingested(source, 'accepted', valid.length);
    return { accepted: valid.length, errors };
  }

  private queued(): number {
    return Math.max(this.unstored, this.scoreQueued);
  }

  private retryAfterMs(incoming: number): number {
    const excess = this.queued() + incoming - this.queueLimit;
    return Math.min(5000, Math.max(10, Math.ceil((excess / Math.max(1, this.writer.rate)) * 1000)));
  }

  /** Durable batches (fsynced now, or replayed from a previous run): to scoring and the store. */
  private onDurable(segment: number, batches: readonly SpooledBatch[]): void {
    this.segments.add(segment);
    const durableAt = this.metrics === undefined ? 0 : performance.now();
    for (const { points } of batches) {
      this.scoreQueue.push(points);
      if (this.metrics !== undefined) this.scoreQueueDurableAt.push(durableAt);
      this.scoreQueued += points.length;
    }
    this.writer.push(batches.map(({ points, rows }) => ({ segment, points: points.length, rows })));
    this.scheduleScoring();
  }

  // ---- scoring ----

  private scheduleScoring(): void {
    if (this.scoreScheduled || this.scoringPaused) return;
    this.scoreScheduled = true;
    setImmediate(() => {
      this.scoreScheduled = false;
      // A slice per turn of the event loop, so acks and I/O keep flowing under load.
      this.drainScoring(SLICE_POINTS);
      if (this.scoreQueue.length > 0) this.scheduleScoring();
    });
  }

  /** Hand queued batches to the shards (in-process: score them now), up to `budget` points. */
  private drainScoring(budget = Number.POSITIVE_INFINITY): void {
    let done = 0;
    while (!this.scoringPaused && done < budget && this.scoreQueue.length > 0) {
      const batches: ValidPoint[][] = [];
      let points = 0;
      while (this.scoreQueue.length > 0 && points < SLICE_POINTS) {
        const batch = this.scoreQueue.shift() as ValidPoint[];
        batches.push(batch);
        points += batch.length;
      }
      const durableAt =
        this.metrics === undefined ? [] : this.scoreQueueDurableAt.splice(0, batches.length);
      done += points;
      const parts = this.table.encode(batches);
      const slice: Slice = { pending: 0, points, durableAt };
      parts.forEach((part, i) => {
        if (part === undefined) return;
        slice.pending++;
        this.inflight[i]?.push(slice);
      });
      this.inflightSlices++;
      if (slice.pending === 0) {
        this.finishSlice(slice);
        continue;
      }
      // In-process shards answer synchronously, inside score().
      parts.forEach((part, i) => {
        if (part !== undefined) this.shards[i]?.score(part);
      });
    }
  }

  private finishSlice(slice: Slice): void {
    this.scoreQueued -= slice.points;
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

  /** Resolves when every batch handed to the shards has been scored. */
  private scoringIdle(): Promise<void> {
    if (this.inflightSlices === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private onResult(shard: number, result: ShardResult): void {
    const { batch, scores, levels, strategy, labels, events } = result;
    const n = levels.length;
    let notScored = 0;
    for (let r = 0; r < n; r++) if (levels[r] === NOT_SCORED) notScored++;
    this.counters.notScored += notScored;
    this.counters.scored += n - notScored;
    if (this.listeners.size > 0 || events.length > 0) {
      const names = this.table.names[shard];
      let e = 0;
      for (let r = 0; r < n; r++) {
        const level = levels[r] as number;
        if (level !== NOT_SCORED && this.listeners.size > 0 && names !== undefined) {
          const id = batch.ids[r] as number;
          this.publishScore(
            names.device[id] as string,
            names.metric[id] as string,
            batch.times[r] as number,
            batch.values[r] as number,
            scores[r] as number,
            LEVELS[level] as ScoredPoint['level'],
            labels[strategy[r] as number] as string,
          );
        }
        while (e < events.length && (events[e] as ShardEvent).row === r) {
          this.onEvent(events[e] as ShardEvent);
          e++;
        }
      }
      for (; e < events.length; e++) this.onEvent(events[e] as ShardEvent);
    }
    // Shadow events are stored only: never on the feed, so never alerted.
    if (result.shadowEvents !== undefined) {
      for (const e of result.shadowEvents) this.pendingEvents.set(e.stored.id, e.stored);
    }
    const slice = this.inflight[shard]?.shift();
    if (slice !== undefined && --slice.pending === 0) this.finishSlice(slice);
  }

  private publishScore(
    device: string,
    metric: string,
    timestamp: number,
    value: number,
    score: number,
    level: ScoredPoint['level'],
    strategy: string,
  ): void {
    if (level === 'ok') {
      // The feed is for people and dashboards: sample ok scores so it cannot slow scoring.
      const second = Math.floor(this.clock() / 1000);
      if (second !== this.feedWindow) {
        this.feedWindow = second;
        this.feedUsed = 0;
      }
      if (this.feedUsed >= this.feedBudget) return;
      this.feedUsed++;
    }
    this.emit({
      type: 'score',
      point: { device_id: device, metric, timestamp, value, score, level, strategy },
    });
  }

  private onEvent(e: ShardEvent): void {
    this.metrics?.event(e.event.level, e.change);
    this.pendingEvents.set(e.stored.id, e.stored);
    this.emit({
      type: 'event',
      change: e.change,
      event: e.event,
      device: e.stored.device,
      metric: e.stored.metric,
      at: e.at,
      ...(e.reason === undefined ? {} : { reason: e.reason }),
    });
  }

  private emit(item: EngineFeedItem): void {
    for (const listener of this.listeners) {
      try {
        listener(item);
      } catch (error) {
        this.log(`feed listener failed: ${String(error)}`);
      }
    }
  }

  // ---- store writer ----

  /** After each store commit: count it, then write events and delete covered segments. */
  private async onStored(chunks: readonly StoreChunk[]): Promise<void> {
    let points = 0;
    for (const chunk of chunks) points += chunk.points;
    this.unstored -= points;
    this.counters.stored += points;
    await this.flushEvents();
    await this.sweepSegments();
  }

  private flushEvents(): Promise<void> {
    const run = this.eventChain.then(async () => {
      if (this.pendingEvents.size === 0) return;
      const batch = this.pendingEvents;
      this.pendingEvents = new Map();
      try {
        await this.store.events.upsert([...batch.values()]);
      } catch (error) {
        // Keep newer versions that arrived meanwhile.
        for (const [id, e] of batch) if (!this.pendingEvents.has(id)) this.pendingEvents.set(id, e);
        throw error;
      }
    });
    this.eventChain = run.catch(() => undefined);
    return run;
  }

  /** Delete segments that are committed to the store and covered by a checkpoint. */
  private async sweepSegments(): Promise<void> {
    for (const id of [...this.segments].sort((a, b) => a - b)) {
      if (id >= this.spool.active || id > this.checkpointedThrough) break;
      if (this.writer.unstoredIn(id) > 0) break;
      this.segments.delete(id);
      this.writer.forget(id);
      await this.spool.remove(id);
    }
  }

  // ---- checkpoints ----

  /** Close the active segment (even an empty one is then tracked, so the sweep deletes it). */
  private async rotateSpool(): Promise<number> {
    const closed = await this.spool.rotate();
    this.segments.add(closed);
    return closed;
  }

  checkpoint(): Promise<void> {
    const run = this.checkpointChain.then(() => this.takeCheckpoint());
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  private async takeCheckpoint(): Promise<void> {
    // Everything up to the closed segment is durable and already queued for scoring.
    const boundary = await this.rotateSpool();
    this.scoringPaused = false;
    this.drainScoring();
    // Hold new batches back until the snapshots are taken, so they match the events written
    // with them; each shard snapshots after the batches it was already given.
    this.scoringPaused = true;
    const wallTime = this.clock();
    let parts: Checkpoint[][];
    try {
      const replies = await Promise.all(
        this.shards.map((s) => s.request({ op: 'snapshot', wallTime })),
      );
      parts = replies.map((r) => r.checkpoints);
      await this.flushEvents();
    } finally {
      this.scoringPaused = false;
      this.scheduleScoring();
    }
    try {
      const checkpoints = parts.flat();
      for (let i = 0; i < checkpoints.length; i += CHECKPOINT_PUT) {
        await this.store.checkpoints.put(checkpoints.slice(i, i + CHECKPOINT_PUT));
      }
    } catch (error) {
      await Promise.all(
        this.shards.map((s, i) =>
          s.request({ op: 'dirty', keys: (parts[i] ?? []).map((cp) => cp.key) }),
        ),
      );
      throw error;
    }
    this.checkpointedThrough = Math.max(this.checkpointedThrough, boundary);
    this.counters.checkpoints++;
    this.lastCheckpointWall = this.clock();
    await this.sweepSegments();
  }

  // ---- the rest of the contract ----

  async flush(): Promise<void> {
    for (;;) {
      this.drainScoring();
      await this.scoringIdle();
      if (this.writer.idle) break;
      await this.writer.round();
    }
    await this.flushEvents();
  }

  async detect(points: readonly IngestPoint[]): Promise<ScoredPoint[]> {
    const { valid, errors } = validateBatch(points, this.limits);
    if (errors.length > 0) {
      const first = errors[0] as { index: number; message: string };
      throw new VigilError('VIGIL_ERR_INPUT', `point ${first.index}: ${first.message}`);
    }
    // Each shard scores its devices' points against copies of its live state.
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

  subscribe(listener: (item: EngineFeedItem) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  stats(): EngineStats {
    return {
      ...this.counters,
      queued: this.queued(),
      series: this.table.size,
      lastCheckpointWallMs: this.lastCheckpointWall,
      spoolSegment: this.spool.active,
      workers: this.workers,
    };
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      if (this.timer !== undefined) clearInterval(this.timer);
      try {
        // Appends already handed to the spool finish (rotate waits for them), then drain.
        await this.rotateSpool();
        await this.flush();
        await this.checkpoint();
        await this.spool.close();
      } finally {
        await Promise.all(this.shards.map((s) => s.close()));
      }
    })();
    return this.closed;
  }
}
