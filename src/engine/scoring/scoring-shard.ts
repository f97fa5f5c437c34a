/**
 * One scoring shard (docs/engine.md, "Scoring shards"): the detector state of the series of some
 * devices, and the scoring of their rows in order. The same class runs on the main thread
 * (`workers: 0`) and in each worker thread, so both modes score identically. Everything here is
 * synchronous: a message (a batch, a swap, a snapshot) is handled whole, so a strategy swap
 * always lands between two points of the shard's stream.
 */
import { restoreDevicePipeline, restorePipeline } from '../../core/strategy/compile.js';
import type {
  DevicePipelineSnapshot,
  PipelineSnapshot,
  SeriesPipeline,
} from '../../core/strategy/pipeline.js';
import type { Strategy } from '../../core/strategy/schema.js';
import { ShadowScorer, type ShadowEventOut } from '../shadow/shadow-scorer.js';
import type { ShadowSpec } from '../shadow/types.js';
import { detectPoint, type DetectCopies } from './detect.js';
import { commitSwap, planSwap } from './hot-swap.js';
import {
  BAND_EVERY_MS,
  NOT_SCORED,
  type ReplyOf,
  type RestoreItem,
  type ReviveRequest,
  type ShardBatch,
  type ShardEvent,
  type ShardReply,
  type ShardRequest,
  type ShardResult,
} from './protocol.js';
import { CheckpointPacker, type CheckpointPack } from './packed-checkpoints.js';
import { Routes, type Route } from './routes.js';
import { LEVEL_CODE, ShardOutput } from './shard-output.js';
import { newGroup, ShardState, type SeriesState } from './shard-state.js';
import { scoreVector } from './score-vector.js';
import { toStoredEvent } from './stored-event.js';
import { decodeState } from '../../store/state-codec.js';

/** create-engine.ts names a checkpoint's engine tag by this import. */
export type { EngineTag } from './checkpoint-keys.js';

export class ScoringShard {
  private readonly routes: Routes;
  private readonly state = new ShardState();
  /** Output of the batch (or swap) being handled. */
  private readonly out = new ShardOutput();
  /** Shadow runs (docs/shadow.md); undefined while there are none, so scoring pays nothing. */
  private shadow: ShadowScorer | undefined;

  constructor(
    strategies: readonly Strategy[],
    fallback: Strategy,
    shadows: readonly ShadowSpec[] = [],
  ) {
    this.routes = new Routes(strategies, fallback);
    if (shadows.length > 0) this.setShadows(shadows);
  }

  /** Answer a request (in stream order with the batches). */
  handle(request: ShardRequest): ShardReply {
    switch (request.op) {
      case 'restore':
        return this.restore(request.items);
      case 'snapshot':
        return this.snapshot(request.wallTime, request.evictIdleMs ?? 0);
      case 'revive':
        return this.revive(request);
      case 'dirty':
        return this.markDirty(request.keys);
      case 'plan':
        return { series: planSwap(this.state, this.routes, request.strategies, request.fallback) };
      case 'commit':
        return this.commit(request.strategies, request.fallback, request.warm);
      case 'detect': {
        const copies: DetectCopies = new Map();
        const scores = request.points.map((p) => detectPoint(this.state, this.routes, p, copies));
        return { scores };
      }
      case 'shadows':
        return this.setShadows(request.runs);
      case 'shadow-stats':
        return { runs: this.shadow?.counters() ?? [] };
    }
  }

  // ---- scoring ----

  score(batch: ShardBatch): ShardResult {
    for (const def of batch.defs) {
      const { device, metric, tags } = def;
      this.state.define(def, this.routes.of({ device, metric, tags }));
    }
    const n = batch.ids.length;
    this.out.reset(n);
    const starts = batch.pointStart;
    for (let r = 0; r < n;) {
      let end = r + 1;
      while (end < n && starts[end] === 0) end++;
      if (end === r + 1) this.scoreRow(batch, r);
      else this.scorePoint(batch, r, end);
      r = end;
    }
    const { scores, levels, strategyOf, events, bands } = this.out;
    const labels = this.routes.labels;
    const result: ShardResult = {
      batch,
      scores,
      levels,
      strategy: strategyOf,
      labels,
      events,
      ...(bands.length === 0 ? {} : { bands }),
    };
    const shadowEvents = this.shadow?.events;
    if (shadowEvents === undefined || shadowEvents.length === 0) return result;
    (this.shadow as ShadowScorer).events = [];
    return { ...result, shadowEvents: shadowEvents.map((e) => shadowEvent(e)) };
  }

  private seriesAt(batch: ShardBatch, r: number): SeriesState {
    return this.state.series[batch.ids[r] as number] as SeriesState;
  }

  private scoreRow(batch: ShardBatch, r: number): void {
    const series = this.seriesAt(batch, r);
    if (series.route.vector) scoreVector(this.state, this.out, batch, series.route, [r]);
    else this.scoreSeries(series, batch, r);
  }

  /** Rows start..end-1 are one point's metrics, in name order. */
  private scorePoint(batch: ShardBatch, start: number, end: number): void {
    let vectors: Map<Route, number[]> | undefined;
    for (let r = start; r < end; r++) {
      const series = this.seriesAt(batch, r);
      if (!series.route.vector) {
        this.scoreSeries(series, batch, r);
        continue;
      }
      vectors ??= new Map();
      const rows = vectors.get(series.route);
      if (rows === undefined) vectors.set(series.route, [r]);
      else rows.push(r);
    }
    if (vectors !== undefined) {
      for (const [route, rows] of vectors) scoreVector(this.state, this.out, batch, route, rows);
    }
  }

  private scoreSeries(s: SeriesState, batch: ShardBatch, r: number): void {
    const out = this.out;
    const t = batch.times[r] as number;
    out.strategyOf[r] = s.route.labelIndex;
    // Event-time rule: only points after the series' last scored time are scored.
    if (!(t > s.last)) {
      out.levels[r] = NOT_SCORED;
      return;
    }
    const pipeline = s.pipeline as SeriesPipeline;
    const value = batch.values[r] as number;
    // The alert threshold at the series' first point of each minute: known as it arrives (the
    // minute's last is only known at the next), read before the point is learned, and no state
    // of its own (the last scored time tells a new minute).
    if (Math.floor(t / BAND_EVERY_MS) !== Math.floor(s.last / BAND_EVERY_MS)) {
      const band = pipeline.alertBand(t, value);
      if (band !== null) out.band(r, band[0], band[1]);
    }
    out.scores[r] =
      this.shadow === undefined
        ? pipeline.process(t, value)
        : this.shadow.score(s, s, pipeline, t, value);
    out.levels[r] = LEVEL_CODE[pipeline.lastLevel];
    s.last = t;
    s.dirty = true;
    const change = pipeline.lastEventChange;
    if (change !== null) out.event(r, change, s.device, s.metric, s.route.strategy);
  }

  // ---- checkpoints ----

  private restore(items: readonly RestoreItem[]): ReplyOf['restore'] {
    let restored = 0;
    for (const item of items) {
      const cp = item.checkpoint;
      if (item.kind === 'shadow') {
        if (this.shadow?.restore(item.run, item.device, item.metric, cp) === true) restored++;
        continue;
      }
      const snapshot = cp.snapshot;
      const route = this.routes.find(snapshot.strategy, snapshot.version);
      if (route === undefined) continue; // the main thread checked; defensive only
      if (item.kind === 'group') {
        if (!route.vector) continue;
        let pipeline;
        try {
          pipeline = restoreDevicePipeline(route.strategy, snapshot as DevicePipelineSnapshot);
        } catch (error) {
          // E.g. its onnx model was removed while the service was down: the group starts afresh
          // at its next point (group-build.ts), rather than the whole start failing.
          process.emitWarning(
            `device ${item.device}: its ${route.label} state cannot be restored and starts afresh: ${error instanceof Error ? error.message : String(error)}`,
            { code: 'VIGIL_PIPELINE_BUILD_FAILED' },
          );
          continue;
        }
        const group = newGroup(cp.key, item.device, route, pipeline);
        group.last = cp.eventTime;
        group.dirty = false;
        this.state.devices.set(cp.key, group);
      } else {
        if (route.vector) continue;
        const series = this.state.define(item.def, route);
        series.pipeline = restorePipeline(route.strategy, snapshot);
        series.last = cp.eventTime;
        series.dirty = false;
      }
      restored++;
    }
    return { restored };
  }

  /** Encoded checkpoints of every state changed since the last call, with their last times. */
  private snapshot(wallTime: number, evictIdleMs: number): ReplyOf['snapshot'] {
    // Only states already stored may go (a dirty one's checkpoint is not written yet); not
    // while shadow runs score beside the active strategies (their candidates stay in memory).
    const idle =
      evictIdleMs > 0 && this.shadow === undefined ? this.state.idleClean(evictIdleMs) : [];
    const packs = this.pack(wallTime);
    this.state.evict(idle);
    return { packs, evicted: idle };
  }

  /**
   * Evicted (or lazily restored) series come back, each before its next point (the main thread
   * sends this first). A state that does not decode or restore starts afresh, reported by key.
   */
  private revive(request: ReviveRequest): ReplyOf['revive'] {
    const afresh: string[] = [];
    request.defs.forEach((def, i) => {
      const route = this.routes.of({ device: def.device, metric: def.metric, tags: def.tags });
      const series = this.state.define(def, route);
      const k = request.at[i] as number;
      if (k < 0) return;
      const key = request.keys[k] as string;
      const from = k === 0 ? 0 : (request.ends[k - 1] as number);
      let snapshot: PipelineSnapshot;
      try {
        snapshot = decodeState(request.states.subarray(from, request.ends[k]), key);
        // Its stored state, unless the strategy changed meanwhile (then afresh, as a hot swap
        // does).
        const stored = this.routes.find(snapshot.strategy, snapshot.version);
        if (stored === route && !route.vector) {
          series.pipeline = restorePipeline(route.strategy, snapshot);
          series.dirty = false;
        }
      } catch (error) {
        afresh.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      series.last = request.eventTimes[k] as number;
    });
    return { revived: request.defs.length, afresh };
  }

  private pack(wallTime: number): CheckpointPack[] {
    // Candidate states first: the engine writes checkpoints in order, a few per transaction, so
    // a crash midway leaves a candidate no older than its active series. A newer candidate
    // skips replayed points itself; an older one would miss those the active side skips.
    const packer = new CheckpointPacker(wallTime);
    for (const cp of this.shadow?.snapshot(wallTime) ?? []) packer.push(cp);
    this.state.snapshot(wallTime, packer);
    return packer.finish();
  }

  /** Snapshots that could not be written: take them again next time. */
  private markDirty(keys: readonly string[]): ReplyOf['dirty'] {
    const wanted = new Set(keys);
    const marked = this.state.markDirty(wanted) + (this.shadow?.markDirty(wanted) ?? 0);
    return { marked };
  }

  // ---- hot reload and shadow runs ----

  private commit(
    strategies: readonly Strategy[],
    fallback: Strategy,
    warm: readonly (readonly [string, PipelineSnapshot])[],
  ): ReplyOf['commit'] {
    this.out.events = [];
    const moved = commitSwap(
      this.state,
      this.routes,
      this.out,
      strategies,
      fallback,
      new Map(warm),
    );
    this.shadow?.setRouting(this.routes.routing());
    return { moved, events: this.out.events };
  }

  private setShadows(runs: readonly ShadowSpec[]): ReplyOf['shadows'] {
    const scorer = this.shadow ?? new ShadowScorer([], this.routes.routing(), toStoredEvent);
    const closed = scorer.setRuns(runs).map((e) => shadowEvent(e));
    this.shadow = scorer.empty ? undefined : scorer;
    return { events: closed };
  }
}

/** A shadow event as the protocol carries it (never tied to a row of the batch). */
function shadowEvent(e: ShadowEventOut): ShardEvent {
  return {
    row: -1,
    change: e.change.type,
    at: e.change.at,
    event: e.change.event,
    stored: e.stored,
  };
}
