/**
 * What the engine's main thread and a scoring shard (in-process, or a worker thread) exchange
 * (docs/engine.md, "Scoring shards"). Points travel as rows of typed arrays: one row per
 * (point, metric), the point's metrics in name order, series named by a dense id per shard that
 * the main thread assigns (a `SeriesDef` introduces an id once, in the first batch that uses it).
 * The buffers are transferred to the worker and back with the result, never copied.
 */
import type { AnomalyEvent, EventChangeType } from '../../core/events/types.js';
import type { PipelineSnapshot } from '../../core/strategy/pipeline.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { Checkpoint, StoredEvent } from '../../store/store.js';
import type { CheckpointPack } from './packed-checkpoints.js';
import type { ScoredPoint } from '../engine.js';
import type { ShadowCounters, ShadowSpec } from '../shadow/types.js';
import type { ValidPoint } from '../validate.js';

/** A series first seen: its shard-local id and what routing needs (tags of its first point). */
export interface SeriesDef {
  readonly id: number;
  readonly device: string;
  readonly metric: string;
  readonly tags: Readonly<Record<string, string>> | undefined;
}

/** Rows to score, in order. `pointStart[r]` is 1 where row r begins a new point. */
export interface ShardBatch {
  readonly defs: readonly SeriesDef[];
  readonly ids: Int32Array;
  readonly times: Float64Array;
  readonly values: Float64Array;
  readonly pointStart: Uint8Array;
}

/** Level codes of `ShardResult.levels`. */
export const LEVELS = ['ok', 'alert', 'severe'] as const;
/** A row not scored: its time was not after its series' last scored time (event-time rule). */
export const NOT_SCORED = 255;

/** Why an event changed other than by a scored point. */
export type EventReason = 'strategy-swap';

export interface ShardEvent {
  /** Row of the batch whose point caused it; −1 for changes outside scoring (a swap). */
  readonly row: number;
  readonly change: EventChangeType;
  /** Event time (ms) of the point that caused the change. */
  readonly at: number;
  readonly event: AnomalyEvent;
  readonly stored: StoredEvent;
  readonly reason?: EventReason;
}

/**
 * How often a series' alert threshold in value space is read (`SeriesPipeline.alertBand`): at its
 * first scored point of each epoch-aligned minute, one per bucket of the dashboard's score
 * history (dashboard/score-history.ts).
 */
export const BAND_EVERY_MS = 60_000;

/** A row's alert threshold in value space: the values [lower, upper] that would not alert. */
export interface ShardBand {
  readonly row: number;
  readonly lower: number;
  readonly upper: number;
}

/** The batch back (its buffers), with a score, level and strategy per row. */
export interface ShardResult {
  readonly batch: ShardBatch;
  readonly scores: Float64Array;
  /** Index into LEVELS, or NOT_SCORED. */
  readonly levels: Uint8Array;
  /** Index into `labels` (`name@version` of the strategy that scored the row). */
  readonly strategy: Uint16Array;
  readonly labels: readonly string[];
  readonly events: readonly ShardEvent[];
  /** Events of shadow runs (docs/shadow.md): stored, never published. Absent when none. */
  readonly shadowEvents?: readonly ShardEvent[];
  /** Alert thresholds read in this batch (see BAND_EVERY_MS), in row order. Absent when none. */
  readonly bands?: readonly ShardBand[];
}

/** A checkpoint to restore into a shard (the main thread checked its strategy is loaded). */
export type RestoreItem =
  | { readonly kind: 'series'; readonly def: SeriesDef; readonly checkpoint: Checkpoint }
  | { readonly kind: 'group'; readonly device: string; readonly checkpoint: Checkpoint }
  /** A shadow run's candidate state (shadow-checkpoints.ts); ignored if the run is not scoring. */
  | {
      readonly kind: 'shadow';
      readonly run: number;
      readonly device: string;
      readonly metric: string;
      readonly checkpoint: Checkpoint;
    };

/**
 * Evicted (or lazily restored) series coming back: their definitions, and the stored states of
 * those that have one, still encoded (state-codec.ts): the shard decodes them, so the main
 * thread neither decodes nor clones a million objects. `states` holds them back to back.
 */
export interface ReviveRequest {
  readonly defs: readonly SeriesDef[];
  /** Per def: index of its state in `ends`, or −1 for none. */
  readonly at: Int32Array;
  /** Per state: its key, event time, and end offset in `states` (start: the previous end). */
  readonly keys: readonly string[];
  readonly eventTimes: Float64Array;
  readonly ends: Uint32Array;
  readonly states: Uint8Array;
}

/** A univariate series as routing sees it (hot reload; see strategy-slots.ts). */
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

/** Requests, answered in order with the batches (a shard handles one message at a time). */
export type ShardRequest =
  | { readonly op: 'restore'; readonly items: readonly RestoreItem[] }
  | {
      readonly op: 'snapshot';
      readonly wallTime: number;
      /** Drop series idle this long (event time, behind the newest seen); 0: never. */
      readonly evictIdleMs?: number;
    }
  /** Bring evicted series back (their checkpoint, or afresh without one), before their points. */
  | ({ readonly op: 'revive' } & ReviveRequest)
  | { readonly op: 'dirty'; readonly keys: readonly string[] }
  | {
      readonly op: 'plan';
      readonly strategies: readonly Strategy[];
      readonly fallback: Strategy;
    }
  | {
      readonly op: 'commit';
      readonly strategies: readonly Strategy[];
      readonly fallback: Strategy;
      /** Warm pipelines of moving series: key `device\u0000metric` → snapshot. */
      readonly warm: readonly (readonly [string, PipelineSnapshot])[];
    }
  | { readonly op: 'detect'; readonly points: readonly ValidPoint[] }
  /** Replace the shadow runs (docs/shadow.md); runs kept keep their state. */
  | { readonly op: 'shadows'; readonly runs: readonly ShadowSpec[] }
  | { readonly op: 'shadow-stats' };

export interface ReplyOf {
  restore: { readonly restored: number };
  /** Encoded checkpoints, packed (packed-checkpoints.ts). */
  snapshot: { readonly packs: CheckpointPack[]; readonly evicted: number[] };
  revive: { readonly revived: number; readonly afresh: readonly string[] };
  dirty: { readonly marked: number };
  plan: { readonly series: RoutedSeries[] };
  commit: { readonly moved: number; readonly events: ShardEvent[] };
  /** One list per point, in the order given. */
  detect: { readonly scores: ScoredPoint[][] };
  /** Open events of removed runs, closed at their last scored time. */
  shadows: { readonly events: ShardEvent[] };
  'shadow-stats': { readonly runs: ShadowCounters[] };
}

export type ShardReply = ReplyOf[keyof ReplyOf];

/** Worker ↔ main messages. */
export type ToWorker =
  | { readonly kind: 'score'; readonly batch: ShardBatch }
  | { readonly kind: 'request'; readonly id: number; readonly request: ShardRequest };

export type FromWorker =
  | { readonly kind: 'result'; readonly result: ShardResult }
  | { readonly kind: 'reply'; readonly id: number; readonly reply: ShardReply }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string };

/** Data a worker starts with. */
export interface WorkerInit {
  readonly strategies: readonly Strategy[];
  readonly fallback: Strategy;
  readonly shadows?: readonly ShadowSpec[];
}

/** The buffers of a batch, for `postMessage` transfer lists. */
export function batchBuffers(batch: ShardBatch): ArrayBuffer[] {
  const views = [batch.ids, batch.times, batch.values, batch.pointStart];
  return views.map((v) => v.buffer as ArrayBuffer);
}

/** The buffers of a result (its batch's too), for `postMessage` transfer lists. */
export function resultBuffers(result: ShardResult): ArrayBuffer[] {
  const views = [result.scores, result.levels, result.strategy];
  return [...batchBuffers(result.batch), ...views.map((v) => v.buffer as ArrayBuffer)];
}
