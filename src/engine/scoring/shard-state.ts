/**
 * The detector state a shard holds: one entry per series (by the dense id the main thread
 * assigned, and by device then metric), and one per device group of a vector strategy (by its
 * checkpoint key). Each entry is checkpointed on its own (checkpointed.ts).
 */
import { FailedGroupBuilds } from './group-build.js';
import type {
  DevicePipeline,
  PipelineSnapshot,
  SeriesPipeline,
} from '../../core/strategy/pipeline.js';
import type { Checkpoint } from '../../store/store.js';
import { groupKey, seriesKey, type EngineTag } from './checkpoint-keys.js';
import { markDirty, snapshotDirty, type Checkpointed } from './checkpointed.js';
import type { SeriesDef } from './protocol.js';
import { newPipeline, type Route } from './routes.js';

export interface DeviceState extends Checkpointed {
  readonly device: string;
  readonly route: Route;
  readonly pipeline: DevicePipeline;
  readonly buffer: Float64Array;
  /** Metric name → position in the pipeline's vectors. */
  readonly index: ReadonlyMap<string, number>;
}

export interface SeriesState extends Checkpointed {
  readonly device: string;
  readonly metric: string;
  readonly tags: Readonly<Record<string, string>> | undefined;
  route: Route;
  /** Undefined while a vector strategy scores the series (in `group`). */
  pipeline: SeriesPipeline | undefined;
  group: DeviceState | undefined;
}

export function newGroup(
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

export class ShardState {
  /** Series by shard-local id (dense, assigned by the main thread); undefined once evicted. */
  readonly series: (SeriesState | undefined)[] = [];
  /** Device groups by checkpoint key. */
  readonly devices = new Map<string, DeviceState>();
  /** Device groups whose pipeline could not be built (group-build.ts). */
  readonly failedBuilds = new FailedGroupBuilds();
  /** The series by device, then metric (detect looks series up by name). */
  private readonly byDevice = new Map<string, Map<string, SeriesState>>();
  /** Checkpoint keys of device groups, by route label then device (hashed once per key). */
  private readonly groupKeys = new Map<string, Map<string, string>>();

  /** A new series on this route, with a fresh pipeline unless the route is a vector one. */
  define(def: SeriesDef, route: Route): SeriesState {
    const { device, metric, tags } = def;
    const state: SeriesState = {
      ckKey: seriesKey(device, metric),
      device,
      metric,
      tags,
      route,
      pipeline: route.vector ? undefined : newPipeline(route, device, metric),
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

  lookup(device: string, metric: string): SeriesState | undefined {
    return this.byDevice.get(device)?.get(metric);
  }

  groupKey(device: string, label: string): string {
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

  /** Append checkpoints of the series, then the device groups, changed since the last call. */
  snapshot(wallTime: number, into: { push(checkpoint: Checkpoint): unknown }): void {
    snapshotDirty(this.series, wallTime, tagged, into);
    snapshotDirty(this.devices.values(), wallTime, tagged, into);
  }

  /**
   * Ids of the univariate series whose last point is more than `idleMs` of event time behind the
   * newest point of this shard, and whose state is already stored (clean: written by an earlier
   * checkpoint). Deterministic: event time only.
   */
  idleClean(idleMs: number): number[] {
    let newest = Number.NEGATIVE_INFINITY;
    for (const s of this.series) if (s !== undefined && s.last > newest) newest = s.last;
    const ids: number[] = [];
    this.series.forEach((s, id) => {
      if (s === undefined || s.dirty || s.pipeline === undefined || s.route.vector) return;
      if (Number.isFinite(s.last) && s.last < newest - idleMs) ids.push(id);
    });
    return ids;
  }

  /** Drop these series from memory (their stored checkpoint brings them back). */
  evict(ids: readonly number[]): void {
    for (const id of ids) {
      const s = this.series[id];
      if (s === undefined) continue;
      this.byDevice.get(s.device)?.delete(s.metric);
      this.series[id] = undefined;
    }
  }

  /** Checkpoints that could not be written: take them again next time. */
  markDirty(keys: ReadonlySet<string>): number {
    return markDirty(this.series, keys) + markDirty(this.devices.values(), keys);
  }
}

/** A state's snapshot tagged with what rebuilds it alone; none for a series in a device group. */
function tagged(s: SeriesState | DeviceState): PipelineSnapshot | undefined {
  if (s.pipeline === undefined) return undefined;
  const engine: EngineTag['engine'] = {
    device: s.device,
    metric: 'metric' in s ? s.metric : null,
  };
  return { ...s.pipeline.snapshot(), engine } as PipelineSnapshot;
}
