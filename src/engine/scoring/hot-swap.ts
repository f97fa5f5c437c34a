/**
 * Hot reload inside a shard (docs/engine.md; strategy-slots.ts drives it): `planSwap` lists the
 * univariate series that new strategies would move, `commitSwap` makes them active between two
 * points. A moving series keeps its last scored time, gets its warm pipeline (or a fresh one), and
 * its open event is closed (reason `strategy-swap`); device groups of replaced strategies are
 * released, their open events closed the same way.
 */
import { restorePipeline } from '../../core/strategy/compile.js';
import type { PipelineSnapshot } from '../../core/strategy/pipeline.js';
import type { SeriesIdentity } from '../../core/strategy/rules.js';
import type { Strategy } from '../../core/strategy/schema.js';
import { labelOf } from './checkpoint-keys.js';
import type { RoutedSeries } from './protocol.js';
import { newPipeline, type Routes } from './routes.js';
import type { ShardOutput } from './shard-output.js';
import type { ShardState } from './shard-state.js';

export function planSwap(
  state: ShardState,
  routes: Routes,
  strategies: readonly Strategy[],
  fallback: Strategy,
): RoutedSeries[] {
  const labels = strategies.map((s) => ({ label: labelOf(s), test: routes.testOf(s) }));
  const out: RoutedSeries[] = [];
  for (const s of state.series) {
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
 * Replace the active strategies (`routes` is updated); closed events go to `out.events`.
 * `warm` holds pipelines of moving series by `device\u0000metric`. Returns how many moved.
 */
export function commitSwap(
  state: ShardState,
  routes: Routes,
  out: ShardOutput,
  strategies: readonly Strategy[],
  fallback: Strategy,
  warm: ReadonlyMap<string, PipelineSnapshot>,
): number {
  const kept = routes.replace(strategies, fallback);
  let moved = 0;
  for (const s of state.series) {
    if (s === undefined) continue;
    const identity: SeriesIdentity = { device: s.device, metric: s.metric, tags: s.tags };
    const route = routes.of(identity);
    if (route === s.route || (route.label === s.route.label && kept.has(s.route))) continue;
    moved++;
    s.dirty = true;
    const closed = s.pipeline?.flushEvents(s.last) ?? null;
    if (closed !== null) {
      out.event(-1, closed, s.device, s.metric, s.route.strategy, 'strategy-swap');
    }
    if (route.vector) {
      s.route = route;
      s.pipeline = undefined;
      s.group = state.devices.get(state.groupKey(s.device, route.label));
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
        : newPipeline(route, s.device, s.metric);
  }
  for (const [key, d] of state.devices) {
    if (kept.has(d.route)) continue;
    const closed = d.pipeline.flushEvents(d.last);
    if (closed !== null) out.event(-1, closed, d.device, null, d.route.strategy, 'strategy-swap');
    state.devices.delete(key);
  }
  return moved;
}
