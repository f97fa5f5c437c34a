/**
 * The detect path (`Engine.detect`, e.g. gRPC `Detect`): score points against copies of a shard's
 * live state, so the answer is what live scoring would say now, and the live state does not
 * change. Copies are made on first use and shared by the points of one call.
 */
import {
  compileDeviceStrategy,
  restoreDevicePipeline,
  restorePipeline,
} from '../../core/strategy/compile.js';
import type { DevicePipeline, SeriesPipeline } from '../../core/strategy/pipeline.js';
import type { ScoredPoint } from '../engine.js';
import type { ValidPoint } from '../validate.js';
import { newPipeline, type Route, type Routes } from './routes.js';
import type { ShardState } from './shard-state.js';

/** Pipelines copied for one call, by `device\u0000metric` (series) or group checkpoint key. */
export type DetectCopies = Map<string, SeriesPipeline | DevicePipeline>;

export function detectPoint(
  state: ShardState,
  routes: Routes,
  point: ValidPoint,
  copies: DetectCopies,
): ScoredPoint[] {
  const device = point.device_id;
  const names = Object.keys(point.metrics).sort();
  const vectors = new Map<Route, string[]>();
  const out: ScoredPoint[] = [];
  for (const metric of names) {
    const live = state.lookup(device, metric);
    const route = live?.route ?? routes.of({ device, metric, tags: point.tags });
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
          : newPipeline(route, device, metric);
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
    const key = state.groupKey(device, route.label);
    let copy = copies.get(key) as DevicePipeline | undefined;
    if (copy === undefined) {
      const live = state.devices.get(key);
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
