/**
 * The engine (docs/engine.md): validate → spool (group-committed fsync, the ack) → score in
 * event-time order per series and → store in the background; checkpoints of every pipeline;
 * replay of the spool on start. Scoring runs on the main thread: see docs/engine.md for why and
 * the measurement.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import {
  compileDeviceStrategy,
  compileStrategy,
  isVectorStrategy,
  restoreDevicePipeline,
  restorePipeline,
} from '../core/strategy/compile.js';
import { resolveStrategy } from '../core/strategy/load.js';
import type {
  DevicePipeline,
  DevicePipelineSnapshot,
  PipelineSnapshot,
  SeriesPipeline,
} from '../core/strategy/pipeline.js';
import { compileTriggerRules, type SeriesIdentity } from '../core/strategy/rules.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { EventChange } from '../core/events/types.js';
import type { Checkpoint, JsonValue, Store, StoredEvent } from '../store/store.js';
import {
  BackpressureError,
  type Engine,
  type EngineFeedItem,
  type IngestPoint,
  type IngestResult,
  type ScoredPoint,
} from './engine.js';
import { engineMetrics, type EngineMetrics } from './metrics.js';
import { Spool } from './spool.js';
import { DEFAULT_LIMITS, validateBatch, type Limits, type ValidPoint } from './validate.js';

export interface EngineOptions {
  readonly store: Store;
  /** Ordered: the first whose trigger_rules match a series scores it. */
  readonly strategies?: readonly Strategy[];
  /** Used when no strategy matches; default: the built-in `default`. */
  readonly defaultStrategy?: Strategy;
  /** Directory of the write-ahead spool (created if missing). */
  readonly spoolDir: string;
  /** Logical shards (hash of device_id); all on the main thread, see docs/engine.md. */
  readonly shards?: number;
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
}

export interface EngineStats {
  readonly accepted: number;
  readonly rejected: number;
  readonly stored: number;
  readonly scored: number;
  /** Points not scored because their time was not after the series' last scored time. */
  readonly notScored: number;
  readonly queued: number;
  readonly series: number;
  readonly checkpoints: number;
  readonly lastCheckpointWallMs: number | null;
  readonly spoolSegment: number;
}

/** A univariate series as routing sees it (for hot reload, see strategy-slots.ts). */
export interface RoutedSeries {
  readonly device: string;
  readonly metric: string;
  readonly tags: Readonly<Record<string, string>> | undefined;
  /** `name@version` it is scored by now, and would be scored by under the planned strategies. */
  readonly from: string;
  readonly to: string;
  /** Event time of the last point scored (−∞ before the first). */
  readonly last: number;
}

/**
 * Changing which strategies are active (docs/engine.md, hot reload). `commit` runs
 * synchronously, and scoring runs in synchronous slices, so it always lands between two points.
 */
export interface StrategyRouting {
  /** The routed strategies in routing order, and the default. */
  active(): { readonly strategies: readonly Strategy[]; readonly fallback: Strategy };
  /** Live univariate series whose strategy would change if these were active. */
  plan(strategies: readonly Strategy[], fallback: Strategy): RoutedSeries[];
  /**
   * Make these active now. A moving series keeps its last scored time and gets `warm.get(key)`
   * (key `device\u0000metric`, a pipeline of its new strategy) or a fresh pipeline; device-level
   * (vector) groups of a replaced strategy start afresh. Returns how many series moved.
   */
  commit(
    strategies: readonly Strategy[],
    fallback: Strategy,
    warm: ReadonlyMap<string, SeriesPipeline>,
  ): number;
}

export interface LiveEngine extends Engine {
  stats(): EngineStats;
  readonly routing: StrategyRouting;
  /** Take a checkpoint now (also done periodically and on close). */
  checkpoint(): Promise<void>;
  /** Resolve once everything accepted so far is scored and committed to the store. */
  flush(): Promise<void>;
}

/** Extra fields kept in a checkpoint's snapshot, so the series can be rebuilt from it alone. */
interface EngineTag {
  readonly engine: { readonly device: string; readonly metric: string | null };
}

interface Route {
  readonly strategy: Strategy;
  readonly label: string;
  readonly vector: boolean;
  readonly test: (series: SeriesIdentity) => boolean;
  /** Univariate strategies: the compiled pipeline factory. */
  readonly make?: (key: string) => SeriesPipeline;
}

interface DeviceState {
  readonly ckKey: string;
  readonly device: string;
  readonly route: Route;
  readonly pipeline: DevicePipeline;
  readonly buffer: Float64Array;
  last: number;
  dirty: boolean;
}

interface SeriesState {
  readonly id: number;
  readonly ckKey: string;
  readonly device: string;
  readonly metric: string;
  readonly tags: Readonly<Record<string, string>> | undefined;
  route: Route;
  pipeline: SeriesPipeline | undefined;
  group: DeviceState | undefined;
  last: number;
  dirty: boolean;
}

interface StoreChunk {
  readonly segment: number;
  readonly points: readonly ValidPoint[];
  /** Store rows (metrics) in `points`, counted once. */
  readonly rows: number;
}

const hashKey = (...parts: string[]): string =>
  createHash('sha1').update(JSON.stringify(parts)).digest('hex');

function label(strategy: Strategy): string {
  return `${strategy.name}@${strategy.version}`;
}

function rowsOf(points: readonly ValidPoint[]): number {
  let rows = 0;
  for (const p of points) rows += Object.keys(p.metrics).length;
  return rows;
}

function toStoredEvent(
  change: EventChange,
  device: string,
  metric: string | null,
  strategy: Strategy,
): StoredEvent {
  const e = change.event;
  return {
    id: e.id,
    device,
    metric,
    strategy: strategy.name,
    strategyVersion: strategy.version,
    start: e.start,
    end: e.end,
    peak: { time: e.peak.time, score: e.peak.score, values: e.peak.values },
    level: e.level,
    points: e.points,
    explanation:
      e.explanation === null ? null : (JSON.parse(JSON.stringify(e.explanation)) as JsonValue),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function createEngine(options: EngineOptions): Promise<LiveEngine> {
  const fallback = options.defaultStrategy ?? (await resolveStrategy('default'));
  const engine = new StreamingEngine(options, fallback);
  await engine.start();
  return engine;
}

class StreamingEngine implements LiveEngine {
  private readonly store: Store;
  private routes: Route[];
  private fallback: Route;
  private readonly limits: Limits;
  private readonly queueLimit: number;
  private readonly clock: () => number;
  private readonly storeBatchRows: number;
  private readonly feedBudget: number;
  private readonly log: (message: string) => void;
  private spool!: Spool;

  /** Series interned: key → state with a dense id. */
  private readonly series = new Map<string, SeriesState>();
  /** The same states by device, then metric: the per-point lookup, with no hashing. */
  private readonly byDevice = new Map<string, Map<string, SeriesState>>();
  /** Checkpoint keys of device groups, by route label then device (hashing is per key, once). */
  private readonly groupKeys = new Map<string, Map<string, string>>();
  private readonly devices = new Map<string, DeviceState>();
  private readonly listeners = new Set<(item: EngineFeedItem) => void>();

  private readonly scoreQueue: ValidPoint[][] = [];
  /** When each batch in `scoreQueue` became durable (performance.now()); kept with metrics only. */
  private readonly scoreQueueDurableAt: number[] = [];
  private readonly metrics: EngineMetrics | undefined;
  private scoreQueued = 0;
  private scoreScheduled = false;
  private scoringPaused = false;

  private readonly storeQueue: StoreChunk[] = [];
  /** Points accepted (from validation) and not yet committed to the store. */
  private unstored = 0;
  /** Rows per spool segment not yet committed to the store. */
  private readonly unstoredBySegment = new Map<number, number>();
  private readonly segments = new Set<number>();
  private checkpointedThrough = 0;
  private writer: Promise<void> | undefined;
  private pendingEvents = new Map<string, StoredEvent>();
  private eventChain: Promise<void> = Promise.resolve();
  private checkpointChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private storeError: unknown;

  private feedWindow = 0;
  private feedUsed = 0;
  private storeRate = 50_000;
  private counters = {
    accepted: 0,
    rejected: 0,
    stored: 0,
    scored: 0,
    notScored: 0,
    checkpoints: 0,
  };
  private lastCheckpointWall: number | null = null;

  constructor(
    private readonly options: EngineOptions,
    fallbackStrategy: Strategy,
  ) {
    this.store = options.store;
    this.routes = (options.strategies ?? []).map((s) => this.route(s));
    this.fallback = this.route(fallbackStrategy, true);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.queueLimit = options.queueLimit ?? 1_000_000;
    this.clock = options.clock ?? Date.now;
    this.storeBatchRows = options.storeBatchRows ?? 50_000;
    this.feedBudget = options.scoreFeedPerSecond ?? 1000;
    this.log = options.log ?? (() => undefined);
    this.metrics = options.registry === undefined ? undefined : engineMetrics(options.registry);
    void (options.shards ?? availableParallelism());
  }

  private route(strategy: Strategy, all = false): Route {
    const vector = isVectorStrategy(strategy);
    return {
      strategy,
      label: label(strategy),
      vector,
      test: all ? () => true : compileTriggerRules(strategy.trigger_rules),
      ...(vector ? {} : { make: compileStrategy(strategy) }),
    };
  }

  readonly routing: StrategyRouting = {
    active: () => ({
      strategies: this.routes.map((r) => r.strategy),
      fallback: this.fallback.strategy,
    }),
    plan: (strategies, fallback) => {
      const labels = strategies.map((s) => ({ label: label(s), test: this.testOf(s) }));
      const out: RoutedSeries[] = [];
      for (const s of this.series.values()) {
        if (s.route.vector) continue;
        const identity: SeriesIdentity = { device: s.device, metric: s.metric, tags: s.tags };
        const to = labels.find((l) => l.test(identity))?.label ?? label(fallback);
        if (to === s.route.label) continue;
        const { device, metric, tags, last } = s;
        out.push({ device, metric, tags, from: s.route.label, to, last });
      }
      return out;
    },
    commit: (strategies, fallback, warm) => this.commitRoutes(strategies, fallback, warm),
  };

  private testOf(strategy: Strategy): (series: SeriesIdentity) => boolean {
    const known = this.routes.find((r) => r.label === label(strategy));
    return known?.test ?? compileTriggerRules(strategy.trigger_rules);
  }

  private commitRoutes(
    strategies: readonly Strategy[],
    fallbackStrategy: Strategy,
    warm: ReadonlyMap<string, SeriesPipeline>,
  ): number {
    // Reuse compiled routes of unchanged versions, so their identity (vector groups) holds.
    const old = [...this.routes, this.fallback];
    const reuse = (s: Strategy, all = false): Route =>
      old.find((r) => r.label === label(s) && (r === this.fallback) === all) ?? this.route(s, all);
    const routes = strategies.map((s) => reuse(s));
    const fallback = reuse(fallbackStrategy, true);
    const kept = new Set([...routes, fallback]);
    this.routes = routes;
    this.fallback = fallback;
    let moved = 0;
    for (const s of this.series.values()) {
      const identity: SeriesIdentity = { device: s.device, metric: s.metric, tags: s.tags };
      const route = routes.find((r) => r.test(identity)) ?? fallback;
      if (route === s.route || (route.label === s.route.label && kept.has(s.route))) continue;
      moved++;
      s.dirty = true;
      if (route.vector) {
        s.route = route;
        s.pipeline = undefined;
        s.group = this.devices.get(this.groupKey(s.device, route.label));
        continue;
      }
      // From a device group: its last time bounds this series too, so nothing scores twice.
      if (s.group !== undefined) s.last = Math.max(s.last, s.group.last);
      s.route = route;
      s.group = undefined;
      s.pipeline =
        warm.get(`${s.device}\u0000${s.metric}`) ??
        (route.make as (key: string) => SeriesPipeline)(`${s.device}/${s.metric}`);
    }
    // Device groups of strategies no longer active are released.
    for (const [key, d] of this.devices) if (!kept.has(d.route)) this.devices.delete(key);
    return moved;
  }

  private findRoute(name: string, version: number): Route | undefined {
    return [...this.routes, this.fallback].find(
      (r) => r.strategy.name === name && r.strategy.version === version,
    );
  }

  async start(): Promise<void> {
    for (const cp of await this.store.checkpoints.getAll()) this.restore(cp);
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
      for (const batch of segment.batches) this.unstored += batch.length;
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

  private restore(cp: Required<Checkpoint>): void {
    const snapshot = cp.snapshot as PipelineSnapshot & Partial<EngineTag>;
    const tag = snapshot.engine;
    const route = this.findRoute(snapshot.strategy, snapshot.version);
    if (tag === undefined || route === undefined) {
      this.log(
        `checkpoint ${cp.key}: strategy ${snapshot.strategy}@${snapshot.version} is not loaded; starting afresh`,
      );
      return;
    }
    if (tag.metric === null) {
      if (!route.vector) return;
      const pipeline = restoreDevicePipeline(route.strategy, snapshot as DevicePipelineSnapshot);
      this.devices.set(cp.key, {
        ckKey: cp.key,
        device: tag.device,
        route,
        pipeline,
        buffer: new Float64Array(pipeline.metrics.length),
        last: cp.eventTime,
        dirty: false,
      });
    } else {
      if (route.vector) return;
      this.intern({
        id: this.series.size,
        ckKey: cp.key,
        device: tag.device,
        metric: tag.metric,
        tags: undefined,
        route,
        pipeline: restorePipeline(route.strategy, snapshot),
        group: undefined,
        last: cp.eventTime,
        dirty: false,
      });
    }
  }

  // ---- ingest ----

  async ingest(
    points: readonly IngestPoint[],
    source: string,
    onQueued?: () => void,
  ): Promise<IngestResult> {
    void source;
    if (this.closing) {
      throw new VigilError('VIGIL_ERR_NOT_READY', 'the engine is shutting down');
    }
    if (this.queued() + points.length > this.queueLimit) {
      this.counters.rejected += points.length;
      throw new BackpressureError(this.retryAfterMs(points.length));
    }
    const { valid, errors } = validateBatch(points, this.limits);
    if (valid.length === 0) {
      onQueued?.();
      return { accepted: 0, errors };
    }
    this.unstored += valid.length;
    // append() queues the batch synchronously: its place in the spool (and scoring) order is set.
    const durable = this.spool.append(valid);
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
    return { accepted: valid.length, errors };
  }

  private queued(): number {
    return Math.max(this.unstored, this.scoreQueued);
  }

  private retryAfterMs(incoming: number): number {
    const excess = this.queued() + incoming - this.queueLimit;
    return Math.min(5000, Math.max(10, Math.ceil((excess / Math.max(1, this.storeRate)) * 1000)));
  }

  /** Durable batches (fsynced now, or replayed from a previous run): to scoring and the store. */
  private onDurable(segment: number, batches: readonly ValidPoint[][]): void {
    this.segments.add(segment);
    const durableAt = this.metrics === undefined ? 0 : performance.now();
    for (const batch of batches) {
      this.scoreQueue.push(batch);
      if (this.metrics !== undefined) this.scoreQueueDurableAt.push(durableAt);
      this.scoreQueued += batch.length;
      const rows = rowsOf(batch);
      this.storeQueue.push({ segment, points: batch, rows });
      this.unstoredBySegment.set(segment, (this.unstoredBySegment.get(segment) ?? 0) + rows);
    }
    this.scheduleScoring();
    this.kickWriter();
  }

  // ---- scoring ----

  private scheduleScoring(): void {
    if (this.scoreScheduled || this.scoringPaused) return;
    this.scoreScheduled = true;
    setImmediate(() => {
      this.scoreScheduled = false;
      // A slice per turn of the event loop, so acks and I/O keep flowing under load.
      this.drainScoring(20_000);
      if (this.scoreQueue.length > 0) this.scheduleScoring();
    });
  }

  private drainScoring(budget = Number.POSITIVE_INFINITY): void {
    if (this.scoringPaused) return;
    let done = 0;
    while (done < budget && this.scoreQueue.length > 0) {
      const batch = this.scoreQueue.shift() as ValidPoint[];
      for (const point of batch) this.scorePoint(point);
      if (this.metrics !== undefined) {
        const durableAt = this.scoreQueueDurableAt.shift() as number;
        this.metrics.detectionLatency((performance.now() - durableAt) / 1000);
      }
      this.scoreQueued -= batch.length;
      done += batch.length;
    }
  }

  private intern(state: SeriesState): void {
    this.series.set(state.ckKey, state);
    let metrics = this.byDevice.get(state.device);
    if (metrics === undefined) {
      metrics = new Map();
      this.byDevice.set(state.device, metrics);
    }
    metrics.set(state.metric, state);
  }

  /** `d:<sha1(device, label)>`, computed once per device and route. */
  private groupKey(device: string, routeLabel: string): string {
    let byDevice = this.groupKeys.get(routeLabel);
    if (byDevice === undefined) {
      byDevice = new Map();
      this.groupKeys.set(routeLabel, byDevice);
    }
    let key = byDevice.get(device);
    if (key === undefined) {
      key = `d:${hashKey(device, routeLabel)}`;
      byDevice.set(device, key);
    }
    return key;
  }

  private seriesState(device: string, metric: string, tags: ValidPoint['tags']): SeriesState {
    const known = this.byDevice.get(device)?.get(metric);
    if (known !== undefined) return known;
    const ckKey = `s:${hashKey(device, metric)}`;
    let state = this.series.get(ckKey);
    if (state !== undefined) {
      this.intern(state);
      return state;
    }
    const identity: SeriesIdentity = { device, metric, tags };
    const route = this.routes.find((r) => r.test(identity)) ?? this.fallback;
    let group: DeviceState | undefined;
    let pipeline: SeriesPipeline | undefined;
    if (route.vector) {
      group = this.devices.get(this.groupKey(device, route.label));
    } else {
      pipeline = (route.make as (key: string) => SeriesPipeline)(`${device}/${metric}`);
    }
    state = {
      id: this.series.size,
      ckKey,
      device,
      metric,
      tags,
      route,
      pipeline,
      group,
      last: Number.NEGATIVE_INFINITY,
      dirty: true,
    };
    if (route.vector && group === undefined) return state; // attached by scorePoint
    this.intern(state);
    return state;
  }

  private scorePoint(point: ValidPoint): void {
    const t = point.timestamp;
    const names = Object.keys(point.metrics).sort();
    let vectorRoutes: Map<Route, string[]> | undefined;
    for (const metric of names) {
      const state = this.seriesState(point.device_id, metric, point.tags);
      if (state.route.vector) {
        vectorRoutes ??= new Map();
        const list = vectorRoutes.get(state.route) ?? [];
        list.push(metric);
        vectorRoutes.set(state.route, list);
        continue;
      }
      // Event-time rule: only points after the series' last scored time are scored.
      if (!(t > state.last)) {
        this.counters.notScored++;
        continue;
      }
      const pipeline = state.pipeline as SeriesPipeline;
      const value = point.metrics[metric] as number;
      const score = pipeline.process(t, value);
      state.last = t;
      state.dirty = true;
      this.counters.scored++;
      this.publishScore(
        point.device_id,
        metric,
        t,
        value,
        score,
        pipeline.lastLevel,
        state.route.label,
      );
      const change = pipeline.lastEventChange;
      if (change !== null) this.onEvent(change, point.device_id, metric, state.route.strategy);
    }
    if (vectorRoutes !== undefined) {
      for (const [route, metrics] of vectorRoutes) this.scoreVector(point, route, metrics);
    }
  }

  private scoreVector(point: ValidPoint, route: Route, metrics: string[]): void {
    const device = point.device_id;
    const key = this.groupKey(device, route.label);
    let group = this.devices.get(key);
    if (group === undefined) {
      // The device's metric set is fixed by its first point (sorted by name).
      const pipeline = compileDeviceStrategy(route.strategy, metrics)(device);
      group = {
        ckKey: key,
        device,
        route,
        pipeline,
        buffer: new Float64Array(metrics.length),
        last: Number.NEGATIVE_INFINITY,
        dirty: true,
      };
      this.devices.set(key, group);
    }
    const t = point.timestamp;
    if (!(t > group.last)) {
      this.counters.notScored += metrics.length;
      return;
    }
    // A metric missing from this point is a missing reading (NaN); new metrics are not scored.
    group.pipeline.metrics.forEach((name, i) => {
      group.buffer[i] = point.metrics[name] ?? Number.NaN;
    });
    const score = group.pipeline.process(t, group.buffer);
    group.last = t;
    group.dirty = true;
    this.counters.scored += metrics.length;
    for (const name of group.pipeline.metrics) {
      const value = point.metrics[name];
      if (value !== undefined) {
        this.publishScore(device, name, t, value, score, group.pipeline.lastLevel, route.label);
      }
    }
    const change = group.pipeline.lastEventChange;
    if (change !== null) this.onEvent(change, device, null, route.strategy);
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
    if (this.listeners.size === 0) return;
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

  private onEvent(
    change: EventChange,
    device: string,
    metric: string | null,
    strategy: Strategy,
  ): void {
    const stored = toStoredEvent(change, device, metric, strategy);
    this.metrics?.event(change.event.level, change.type);
    this.pendingEvents.set(stored.id, stored);
    this.emit({
      type: 'event',
      change: change.type,
      event: change.event,
      device,
      metric,
      at: change.at,
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

  private kickWriter(): void {
    if (this.writer !== undefined) return;
    this.writer = this.writeLoop()
      .catch((error: unknown) => {
        // Kept for flush() to report; the points stay queued (and spooled) and are retried.
        this.storeError = error;
        setTimeout(() => {
          this.storeError = undefined;
          this.kickWriter();
        }, 1000).unref();
      })
      .finally(() => {
        this.writer = undefined;
        if (this.storeQueue.length > 0 && this.storeError === undefined) this.kickWriter();
      });
  }

  private async writeLoop(): Promise<void> {
    while (this.storeQueue.length > 0) {
      const chunks: StoreChunk[] = [];
      let rows = 0;
      while (this.storeQueue.length > 0 && rows < this.storeBatchRows) {
        const chunk = this.storeQueue.shift() as StoreChunk;
        chunks.push(chunk);
        rows += chunk.rows;
      }
      const devices: string[] = [];
      const metrics: string[] = [];
      const times: number[] = [];
      const values: number[] = [];
      const tags: (Readonly<Record<string, string>> | undefined)[] = [];
      for (const chunk of chunks) {
        for (const p of chunk.points) {
          for (const [metric, value] of Object.entries(p.metrics)) {
            devices.push(p.device_id);
            metrics.push(metric);
            times.push(p.timestamp);
            values.push(value);
            tags.push(p.tags);
          }
        }
      }
      const started = this.clock();
      const appender = this.store.appender();
      appender.append({ devices, metrics, times, values, tags });
      // Commit is idempotent, so retrying an unknown outcome is safe; keep the points until then.
      for (let attempt = 0; ; attempt++) {
        const commitStarted = performance.now();
        try {
          await appender.commit();
          this.metrics?.storeWrite((performance.now() - commitStarted) / 1000);
          break;
        } catch (error) {
          this.metrics?.storeWrite((performance.now() - commitStarted) / 1000);
          this.metrics?.storeWriteError();
          if (attempt >= 20) {
            appender.rollback();
            this.storeQueue.unshift(...chunks);
            this.storeError = error;
            this.log(`store write failed, giving up for now: ${String(error)}`);
            throw error;
          }
          this.log(`store write failed (attempt ${attempt + 1}), retrying: ${String(error)}`);
          await sleep(Math.min(2000, 50 * 2 ** attempt));
        }
      }
      const elapsed = Math.max(1, this.clock() - started);
      this.storeRate = 0.7 * this.storeRate + 0.3 * ((rows / elapsed) * 1000);
      let points = 0;
      for (const chunk of chunks) {
        points += chunk.points.length;
        const left = (this.unstoredBySegment.get(chunk.segment) ?? 0) - chunk.rows;
        this.unstoredBySegment.set(chunk.segment, left);
      }
      this.unstored -= points;
      this.counters.stored += points;
      await this.flushEvents();
      await this.sweepSegments();
    }
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
      if ((this.unstoredBySegment.get(id) ?? 0) > 0) break;
      this.segments.delete(id);
      this.unstoredBySegment.delete(id);
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
    // Hold scoring until the snapshots are taken, so they match the events written before them.
    this.scoringPaused = true;
    const checkpoints: Checkpoint[] = [];
    try {
      await this.flushEvents();
      const wallTime = this.clock();
      for (const s of this.series.values()) {
        if (!s.dirty || s.pipeline === undefined || !Number.isFinite(s.last)) continue;
        const engine: EngineTag['engine'] = { device: s.device, metric: s.metric };
        checkpoints.push({
          key: s.ckKey,
          snapshot: { ...s.pipeline.snapshot(), engine } as PipelineSnapshot,
          eventTime: s.last,
          wallTime,
        });
        s.dirty = false;
      }
      for (const d of this.devices.values()) {
        if (!d.dirty || !Number.isFinite(d.last)) continue;
        const engine: EngineTag['engine'] = { device: d.device, metric: null };
        checkpoints.push({
          key: d.ckKey,
          snapshot: { ...d.pipeline.snapshot(), engine } as PipelineSnapshot,
          eventTime: d.last,
          wallTime,
        });
        d.dirty = false;
      }
    } finally {
      this.scoringPaused = false;
      this.scheduleScoring();
    }
    try {
      for (let i = 0; i < checkpoints.length; i += 1000) {
        await this.store.checkpoints.put(checkpoints.slice(i, i + 1000));
      }
    } catch (error) {
      for (const cp of checkpoints) this.markDirty(cp.key);
      throw error;
    }
    this.checkpointedThrough = Math.max(this.checkpointedThrough, boundary);
    this.counters.checkpoints++;
    this.lastCheckpointWall = this.clock();
    await this.sweepSegments();
  }

  private markDirty(key: string): void {
    const s = this.series.get(key);
    if (s !== undefined) s.dirty = true;
    const d = this.devices.get(key);
    if (d !== undefined) d.dirty = true;
  }

  // ---- the rest of the contract ----

  async flush(): Promise<void> {
    for (;;) {
      this.drainScoring();
      if (this.storeQueue.length === 0 && this.writer === undefined) break;
      if (this.storeError !== undefined) {
        const error = this.storeError;
        this.storeError = undefined;
        throw error;
      }
      this.kickWriter();
      await this.writer;
    }
    await this.flushEvents();
  }

  async detect(points: readonly IngestPoint[]): Promise<ScoredPoint[]> {
    const { valid, errors } = validateBatch(points, this.limits);
    if (errors.length > 0) {
      const first = errors[0] as { index: number; message: string };
      throw new VigilError('VIGIL_ERR_INPUT', `point ${first.index}: ${first.message}`);
    }
    // Copies of the live pipelines, made on first use and dropped at the end: no state changes.
    const copies = new Map<string, SeriesPipeline | DevicePipeline>();
    const out: ScoredPoint[] = [];
    for (const point of valid) {
      const device = point.device_id;
      const names = Object.keys(point.metrics).sort();
      const vectors = new Map<Route, string[]>();
      for (const metric of names) {
        const ckKey = `s:${hashKey(device, metric)}`;
        const live = this.series.get(ckKey);
        const route =
          live?.route ??
          this.routes.find((r) => r.test({ device, metric, tags: point.tags })) ??
          this.fallback;
        if (route.vector) {
          vectors.set(route, [...(vectors.get(route) ?? []), metric]);
          continue;
        }
        let copy = copies.get(ckKey) as SeriesPipeline | undefined;
        if (copy === undefined) {
          copy =
            live?.pipeline !== undefined
              ? restorePipeline(route.strategy, live.pipeline.snapshot())
              : (route.make as (key: string) => SeriesPipeline)(`${device}/${metric}`);
          copies.set(ckKey, copy);
        }
        const value = point.metrics[metric] as number;
        const score = copy.process(point.timestamp, value);
        out.push({
          device_id: device,
          metric,
          timestamp: point.timestamp,
          value,
          score,
          level: copy.lastLevel,
          strategy: route.label,
        });
      }
      for (const [route, metrics] of vectors) {
        const key = `d:${hashKey(device, route.label)}`;
        let copy = copies.get(key) as DevicePipeline | undefined;
        if (copy === undefined) {
          const live = this.devices.get(key);
          copy =
            live !== undefined
              ? restoreDevicePipeline(route.strategy, live.pipeline.snapshot())
              : compileDeviceStrategy(route.strategy, metrics)(device);
          copies.set(key, copy);
        }
        const pipeline = copy;
        const vector = Float64Array.from(pipeline.metrics, (m) => point.metrics[m] ?? Number.NaN);
        const score = pipeline.process(point.timestamp, vector);
        for (const m of pipeline.metrics) {
          const value = point.metrics[m];
          if (value === undefined) continue;
          out.push({
            device_id: device,
            metric: m,
            timestamp: point.timestamp,
            value,
            score,
            level: pipeline.lastLevel,
            strategy: route.label,
          });
        }
      }
    }
    return out;
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
      series: this.series.size + this.devices.size,
      lastCheckpointWallMs: this.lastCheckpointWall,
      spoolSegment: this.spool.active,
    };
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      if (this.timer !== undefined) clearInterval(this.timer);
      // Appends already handed to the spool finish (rotate waits for them), then drain.
      await this.rotateSpool();
      await this.flush();
      await this.checkpoint();
      await this.spool.close();
    })();
    return this.closed;
  }
}
