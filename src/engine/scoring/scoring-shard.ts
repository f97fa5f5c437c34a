/**
 * One scoring shard (docs/engine.md, "Scoring shards"): the detector state of the series of some
 * devices, and the scoring of their rows in order. The same class runs on the main thread
 * (`workers: 0`) and in each worker thread, so both modes score identically. Everything here is
 * synchronous: a message (a batch, a swap, a snapshot) is handled whole, so a strategy swap
 * always lands between two points of the shard's stream.
 */
import { createHash } from 'node:crypto';
import {
  compileDeviceStrategy,
  compileStrategy,
  isVectorStrategy,
  restoreDevicePipeline,
  restorePipeline,
} from '../../core/strategy/compile.js';
import type {
  DevicePipeline,
  DevicePipelineSnapshot,
  PipelineSnapshot,
  SeriesPipeline,
} from '../../core/strategy/pipeline.js';
import { compileTriggerRules, type SeriesIdentity } from '../../core/strategy/rules.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { EventChange } from '../../core/events/types.js';
import type { Level } from '../../core/thresholds/threshold.js';
import type { Checkpoint, JsonValue, StoredEvent } from '../../store/store.js';
import type { ScoredPoint } from '../engine.js';
import type { ValidPoint } from '../validate.js';
import { ShadowScorer, type ActiveRouting, type ShadowEventOut } from '../shadow/shadow-scorer.js';
import type { ShadowSpec } from '../shadow/types.js';
import {
  NOT_SCORED,
  type EventReason,
  type ReplyOf,
  type RestoreItem,
  type RoutedSeries,
  type SeriesDef,
  type ShardBatch,
  type ShardEvent,
  type ShardReply,
  type ShardRequest,
  type ShardResult,
} from './protocol.js';

/** Extra fields kept in a checkpoint's snapshot, so the series can be rebuilt from it alone. */
export interface EngineTag {
  readonly engine: { readonly device: string; readonly metric: string | null };
}

const LEVEL_CODE: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };

export const hashKey = (...parts: string[]): string =>
  createHash('sha1').update(JSON.stringify(parts)).digest('hex');

/** Checkpoint key of a series (the store limits keys to 200 characters, hence the hash). */
export const seriesKey = (device: string, metric: string): string => `s:${hashKey(device, metric)}`;
/** Checkpoint key of a device group of a vector strategy. */
export const groupKey = (device: string, label: string): string => `d:${hashKey(device, label)}`;

export const labelOf = (strategy: Strategy): string => `${strategy.name}@${strategy.version}`;

interface Route {
  readonly strategy: Strategy;
  readonly label: string;
  /** Index into the shard's label table (results name strategies by it). */
  readonly labelIndex: number;
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
  /** Metric name → position in the pipeline's vectors. */
  readonly index: ReadonlyMap<string, number>;
  last: number;
  dirty: boolean;
}

interface SeriesState {
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

export function toStoredEvent(
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

export class ScoringShard {
  private routes: Route[];
  private fallback: Route;
  /** `name@version` by label index; only grows, so indices stay valid. */
  private readonly labels: string[] = [];
  /** Series by shard-local id (dense, assigned by the main thread). */
  private readonly series: SeriesState[] = [];
  /** The same by device, then metric (detect looks series up by name). */
  private readonly byDevice = new Map<string, Map<string, SeriesState>>();
  /** Checkpoint keys of device groups, by route label then device (hashed once per key). */
  private readonly groupKeys = new Map<string, Map<string, string>>();
  private readonly devices = new Map<string, DeviceState>();

  // Output of the batch being scored.
  private scores = new Float64Array(0);
  private levels = new Uint8Array(0);
  private strategyOf = new Uint16Array(0);
  private events: ShardEvent[] = [];
  /** Shadow runs (docs/shadow.md); undefined while there are none, so scoring pays nothing. */
  private shadow: ShadowScorer | undefined;

  constructor(
    strategies: readonly Strategy[],
    fallback: Strategy,
    shadows: readonly ShadowSpec[] = [],
  ) {
    this.routes = strategies.map((s) => this.route(s));
    this.fallback = this.route(fallback, true);
    if (shadows.length > 0) this.setShadows(shadows);
  }

  private activeRouting(): ActiveRouting {
    return {
      routes: this.routes.map((r) => ({ name: r.strategy.name, test: r.test })),
      fallbackName: this.fallback.strategy.name,
    };
  }

  private setShadows(runs: readonly ShadowSpec[]): ReplyOf['shadows'] {
    const scorer = this.shadow ?? new ShadowScorer([], this.activeRouting(), toStoredEvent);
    const closed = scorer.setRuns(runs).map((e) => this.shadowEvent(-1, e));
    this.shadow = scorer.empty ? undefined : scorer;
    return { events: closed };
  }

  private shadowEvent(row: number, e: ShadowEventOut): ShardEvent {
    return { row, change: e.change.type, at: e.change.at, event: e.change.event, stored: e.stored };
  }

  private route(strategy: Strategy, all = false): Route {
    const vector = isVectorStrategy(strategy);
    const label = labelOf(strategy);
    let labelIndex = this.labels.indexOf(label);
    if (labelIndex < 0) labelIndex = this.labels.push(label) - 1;
    return {
      strategy,
      label,
      labelIndex,
      vector,
      test: all ? () => true : compileTriggerRules(strategy.trigger_rules),
      ...(vector ? {} : { make: compileStrategy(strategy) }),
    };
  }

  private routeFor(identity: SeriesIdentity): Route {
    return this.routes.find((r) => r.test(identity)) ?? this.fallback;
  }

  /** Answer a request (in stream order with the batches). */
  handle(request: ShardRequest): ShardReply {
    switch (request.op) {
      case 'restore':
        return this.restore(request.items);
      case 'snapshot':
        return { checkpoints: this.snapshot(request.wallTime) };
      case 'dirty':
        return this.markDirty(request.keys);
      case 'plan':
        return { series: this.plan(request.strategies, request.fallback) };
      case 'commit':
        return this.commit(request.strategies, request.fallback, new Map(request.warm));
      case 'detect': {
        // Copies of the live pipelines, shared by the points of this call, then dropped.
        const copies = new Map<string, SeriesPipeline | DevicePipeline>();
        return { scores: request.points.map((p) => this.detectPoint(p, copies)) };
      }
      case 'shadows':
        return this.setShadows(request.runs);
      case 'shadow-stats':
        return { runs: this.shadow?.counters() ?? [] };
    }
  }

  // ---- scoring ----

  score(batch: ShardBatch): ShardResult {
    for (const def of batch.defs) this.define(def);
    const n = batch.ids.length;
    this.scores = new Float64Array(n);
    this.levels = new Uint8Array(n);
    this.strategyOf = new Uint16Array(n);
    this.events = [];
    const starts = batch.pointStart;
    for (let r = 0; r < n;) {
      let end = r + 1;
      while (end < n && starts[end] === 0) end++;
      if (end === r + 1) this.scoreRow(batch, r);
      else this.scorePoint(batch, r, end);
      r = end;
    }
    const result: ShardResult = {
      batch,
      scores: this.scores,
      levels: this.levels,
      strategy: this.strategyOf,
      labels: this.labels,
      events: this.events,
    };
    const shadowEvents = this.shadow?.events;
    if (shadowEvents === undefined || shadowEvents.length === 0) return result;
    (this.shadow as ShadowScorer).events = [];
    return { ...result, shadowEvents: shadowEvents.map((e) => this.shadowEvent(-1, e)) };
  }

  private define(def: SeriesDef, route?: Route): SeriesState {
    const { device, metric, tags } = def;
    const chosen = route ?? this.routeFor({ device, metric, tags });
    const state: SeriesState = {
      ckKey: seriesKey(device, metric),
      device,
      metric,
      tags,
      route: chosen,
      pipeline: chosen.vector
        ? undefined
        : (chosen.make as (key: string) => SeriesPipeline)(`${device}/${metric}`),
      group: undefined,
      last: Number.NEGATIVE_INFINITY,
      dirty: true,
    };
    this.series[def.id] = state;
    let metrics = this.byDevice.get(device);
    if (metrics === undefined) {
      metrics = new Map();
      this.byDevice.set(device, metrics);
    }
    metrics.set(metric, state);
    return state;
  }

  private scoreRow(batch: ShardBatch, r: number): void {
    const state = this.series[batch.ids[r] as number] as SeriesState;
    if (state.route.vector) this.scoreVector(batch, state.route, [r]);
    else this.scoreSeries(state, batch, r);
  }

  /** Rows start..end-1 are one point's metrics, in name order. */
  private scorePoint(batch: ShardBatch, start: number, end: number): void {
    let vectors: Map<Route, number[]> | undefined;
    for (let r = start; r < end; r++) {
      const state = this.series[batch.ids[r] as number] as SeriesState;
      if (!state.route.vector) {
        this.scoreSeries(state, batch, r);
        continue;
      }
      vectors ??= new Map();
      const rows = vectors.get(state.route);
      if (rows === undefined) vectors.set(state.route, [r]);
      else rows.push(r);
    }
    if (vectors !== undefined) {
      for (const [route, rows] of vectors) this.scoreVector(batch, route, rows);
    }
  }

  private scoreSeries(state: SeriesState, batch: ShardBatch, r: number): void {
    const t = batch.times[r] as number;
    this.strategyOf[r] = state.route.labelIndex;
    // Event-time rule: only points after the series' last scored time are scored.
    if (!(t > state.last)) {
      this.levels[r] = NOT_SCORED;
      return;
    }
    const pipeline = state.pipeline as SeriesPipeline;
    this.scores[r] =
      this.shadow === undefined
        ? pipeline.process(t, batch.values[r] as number)
        : this.shadow.score(state, state, pipeline, t, batch.values[r] as number);
    this.levels[r] = LEVEL_CODE[pipeline.lastLevel];
    state.last = t;
    state.dirty = true;
    const change = pipeline.lastEventChange;
    if (change !== null) this.event(r, change, state.device, state.metric, state.route.strategy);
  }

  private groupKey(device: string, label: string): string {
    let byDevice = this.groupKeys.get(label);
    if (byDevice === undefined) {
      byDevice = new Map();
      this.groupKeys.set(label, byDevice);
    }
    let key = byDevice.get(device);
    if (key === undefined) {
      key = groupKey(device, label);
      byDevice.set(device, key);
    }
    return key;
  }

  private newGroup(
    ckKey: string,
    device: string,
    route: Route,
    pipeline: DevicePipeline,
  ): DeviceState {
    return {
      ckKey,
      device,
      route,
      pipeline,
      buffer: new Float64Array(pipeline.metrics.length),
      index: new Map(pipeline.metrics.map((m, i) => [m, i])),
      last: Number.NEGATIVE_INFINITY,
      dirty: true,
    };
  }

  /** One point's metrics routed to a vector strategy: one score for all of them. */
  private scoreVector(batch: ShardBatch, route: Route, rows: readonly number[]): void {
    const first = this.series[batch.ids[rows[0] as number] as number] as SeriesState;
    const device = first.device;
    const key = this.groupKey(device, route.label);
    let group = this.devices.get(key);
    if (group === undefined) {
      // The device's metric set is fixed by its first point (rows are in name order).
      const metrics = rows.map((r) => (this.series[batch.ids[r] as number] as SeriesState).metric);
      group = this.newGroup(
        key,
        device,
        route,
        compileDeviceStrategy(route.strategy, metrics)(device),
      );
      this.devices.set(key, group);
    }
    const t = batch.times[rows[0] as number] as number;
    for (const r of rows) {
      (this.series[batch.ids[r] as number] as SeriesState).group = group;
      this.strategyOf[r] = route.labelIndex;
    }
    if (!(t > group.last)) {
      for (const r of rows) this.levels[r] = NOT_SCORED;
      return;
    }
    // A metric missing from this point is a missing reading (NaN); new metrics are not scored.
    group.buffer.fill(Number.NaN);
    for (const r of rows) {
      const i = group.index.get((this.series[batch.ids[r] as number] as SeriesState).metric);
      if (i !== undefined) group.buffer[i] = batch.values[r] as number;
    }
    const score = group.pipeline.process(t, group.buffer);
    const level = LEVEL_CODE[group.pipeline.lastLevel];
    group.last = t;
    group.dirty = true;
    for (const r of rows) {
      const metric = (this.series[batch.ids[r] as number] as SeriesState).metric;
      this.scores[r] = score;
      this.levels[r] = group.index.has(metric) ? level : NOT_SCORED;
    }
    const change = group.pipeline.lastEventChange;
    if (change !== null) this.event(rows[0] as number, change, device, null, route.strategy);
  }

  private event(
    row: number,
    change: EventChange,
    device: string,
    metric: string | null,
    strategy: Strategy,
    reason?: EventReason,
  ): void {
    this.events.push({
      row,
      change: change.type,
      at: change.at,
      event: change.event,
      stored: toStoredEvent(change, device, metric, strategy),
      ...(reason === undefined ? {} : { reason }),
    });
  }

  // ---- checkpoints ----

  private findRoute(name: string, version: number): Route | undefined {
    return [...this.routes, this.fallback].find(
      (r) => r.strategy.name === name && r.strategy.version === version,
    );
  }

  private restore(items: readonly RestoreItem[]): ReplyOf['restore'] {
    let restored = 0;
    for (const item of items) {
      const cp = item.checkpoint;
      if (item.kind === 'shadow') {
        if (this.shadow?.restore(item.run, item.device, item.metric, cp) === true) restored++;
        continue;
      }
      const snapshot = cp.snapshot;
      const route = this.findRoute(snapshot.strategy, snapshot.version);
      if (route === undefined) continue; // the main thread checked; defensive only
      if (item.kind === 'group') {
        if (!route.vector) continue;
        const pipeline = restoreDevicePipeline(route.strategy, snapshot as DevicePipelineSnapshot);
        const group = this.newGroup(cp.key, item.device, route, pipeline);
        group.last = cp.eventTime;
        group.dirty = false;
        this.devices.set(cp.key, group);
      } else {
        if (route.vector) continue;
        const state = this.define(item.def, route);
        state.pipeline = restorePipeline(route.strategy, snapshot);
        state.last = cp.eventTime;
        state.dirty = false;
      }
      restored++;
    }
    return { restored };
  }

  /** Snapshots of every state changed since the last call, each with its last scored time. */
  private snapshot(wallTime: number): Checkpoint[] {
    // Candidate states first: the engine writes checkpoints in order, a few per transaction, so
    // a crash midway leaves a candidate no older than its active series. A newer candidate
    // skips replayed points itself; an older one would miss those the active side skips.
    const checkpoints: Checkpoint[] = this.shadow?.snapshot(wallTime) ?? [];
    for (const s of this.series) {
      if (s === undefined || !s.dirty || s.pipeline === undefined || !Number.isFinite(s.last)) {
        continue;
      }
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
    return checkpoints;
  }

  /** Snapshots that could not be written: take them again next time. */
  private markDirty(keys: readonly string[]): ReplyOf['dirty'] {
    const wanted = new Set(keys);
    let marked = 0;
    for (const s of this.series) {
      if (s !== undefined && wanted.has(s.ckKey)) {
        s.dirty = true;
        marked++;
      }
    }
    for (const key of keys) {
      const d = this.devices.get(key);
      if (d !== undefined) {
        d.dirty = true;
        marked++;
      }
    }
    marked += this.shadow?.markDirty(wanted) ?? 0;
    return { marked };
  }

  // ---- hot reload ----

  private testOf(strategy: Strategy): (series: SeriesIdentity) => boolean {
    const known = this.routes.find((r) => r.label === labelOf(strategy));
    return known?.test ?? compileTriggerRules(strategy.trigger_rules);
  }

  private plan(strategies: readonly Strategy[], fallback: Strategy): RoutedSeries[] {
    const labels = strategies.map((s) => ({ label: labelOf(s), test: this.testOf(s) }));
    const out: RoutedSeries[] = [];
    for (const s of this.series) {
      if (s === undefined || s.route.vector) continue;
      const identity: SeriesIdentity = { device: s.device, metric: s.metric, tags: s.tags };
      const to = labels.find((l) => l.test(identity))?.label ?? labelOf(fallback);
      if (to === s.route.label) continue;
      const { device, metric, tags, last } = s;
      out.push({ device, metric, tags, from: s.route.label, to, last });
    }
    return out;
  }

  /**
   * Make these strategies active, between two points of this shard. A moving series keeps its
   * last scored time, gets its warm pipeline (or a fresh one), and its open event is closed
   * (reason `strategy-swap`); device groups of replaced strategies are released, their open
   * events closed the same way.
   */
  private commit(
    strategies: readonly Strategy[],
    fallbackStrategy: Strategy,
    warm: ReadonlyMap<string, PipelineSnapshot>,
  ): ReplyOf['commit'] {
    this.events = [];
    // Reuse compiled routes of unchanged versions, so their identity (vector groups) holds.
    const old = [...this.routes, this.fallback];
    const reuse = (s: Strategy, all = false): Route =>
      old.find((r) => r.label === labelOf(s) && (r === this.fallback) === all) ??
      this.route(s, all);
    const routes = strategies.map((s) => reuse(s));
    const fallback = reuse(fallbackStrategy, true);
    const kept = new Set([...routes, fallback]);
    this.routes = routes;
    this.fallback = fallback;
    this.shadow?.setRouting(this.activeRouting());
    let moved = 0;
    for (const s of this.series) {
      if (s === undefined) continue;
      const identity: SeriesIdentity = { device: s.device, metric: s.metric, tags: s.tags };
      const route = routes.find((r) => r.test(identity)) ?? fallback;
      if (route === s.route || (route.label === s.route.label && kept.has(s.route))) continue;
      moved++;
      s.dirty = true;
      const closed = s.pipeline?.flushEvents(s.last) ?? null;
      if (closed !== null) {
        this.event(-1, closed, s.device, s.metric, s.route.strategy, 'strategy-swap');
      }
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
      const snapshot = warm.get(`${s.device}\u0000${s.metric}`);
      s.pipeline =
        snapshot !== undefined
          ? restorePipeline(route.strategy, snapshot)
          : (route.make as (key: string) => SeriesPipeline)(`${s.device}/${s.metric}`);
    }
    // Device groups of strategies no longer active are released, their open events closed.
    for (const [key, d] of this.devices) {
      if (kept.has(d.route)) continue;
      const closed = d.pipeline.flushEvents(d.last);
      if (closed !== null) {
        this.event(-1, closed, d.device, null, d.route.strategy, 'strategy-swap');
      }
      this.devices.delete(key);
    }
    return { moved, events: this.events };
  }

  // ---- detect ----

  /** Score one point against copies of the live state (made on first use per call). */
  private detectPoint(
    point: ValidPoint,
    copies: Map<string, SeriesPipeline | DevicePipeline>,
  ): ScoredPoint[] {
    const device = point.device_id;
    const names = Object.keys(point.metrics).sort();
    const vectors = new Map<Route, string[]>();
    const out: ScoredPoint[] = [];
    for (const metric of names) {
      const live = this.byDevice.get(device)?.get(metric);
      const route = live?.route ?? this.routeFor({ device, metric, tags: point.tags });
      if (route.vector) {
        vectors.set(route, [...(vectors.get(route) ?? []), metric]);
        continue;
      }
      const key = `${device}\u0000${metric}`;
      let copy = copies.get(key) as SeriesPipeline | undefined;
      if (copy === undefined) {
        copy =
          live?.pipeline !== undefined
            ? restorePipeline(route.strategy, live.pipeline.snapshot())
            : (route.make as (key: string) => SeriesPipeline)(`${device}/${metric}`);
        copies.set(key, copy);
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
      const key = this.groupKey(device, route.label);
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
    return out;
  }
}
