/**
 * The vector path of scoring: one point's metrics routed to a vector strategy are scored together
 * by the device's group pipeline, one score for all of them. The group is created by the device's
 * first point, which fixes its metric set; later a missing metric is a missing reading (NaN) and
 * a new one is not scored.
 */
import { NOT_SCORED, type ShardBatch } from './protocol.js';
import type { Route } from './routes.js';
import { LEVEL_CODE, type ShardOutput } from './shard-output.js';
import { newGroup, type SeriesState, type ShardState } from './shard-state.js';

/** Score rows (one point's metrics on this route, in name order) into `out`. */
export function scoreVector(
  state: ShardState,
  out: ShardOutput,
  batch: ShardBatch,
  route: Route,
  rows: readonly number[],
): void {
  const seriesOf = (r: number): SeriesState => state.series[batch.ids[r] as number] as SeriesState;
  const device = seriesOf(rows[0] as number).device;
  const key = state.groupKey(device, route.label);
  let group = state.devices.get(key);
  if (group === undefined) {
    const metrics = rows.map((r) => seriesOf(r).metric);
    const pipeline = state.failedBuilds.build(key, route, device, metrics);
    if (pipeline === undefined) {
      for (const r of rows) {
        out.strategyOf[r] = route.labelIndex;
        out.levels[r] = NOT_SCORED;
      }
      return;
    }
    group = newGroup(key, device, route, pipeline);
    state.devices.set(key, group);
  }
  const t = batch.times[rows[0] as number] as number;
  for (const r of rows) {
    seriesOf(r).group = group;
    out.strategyOf[r] = route.labelIndex;
  }
  // Event-time rule: only points after the group's last scored time are scored.
  if (!(t > group.last)) {
    for (const r of rows) out.levels[r] = NOT_SCORED;
    return;
  }
  group.buffer.fill(Number.NaN);
  for (const r of rows) {
    const i = group.index.get(seriesOf(r).metric);
    if (i !== undefined) group.buffer[i] = batch.values[r] as number;
  }
  const score = group.pipeline.process(t, group.buffer);
  const level = LEVEL_CODE[group.pipeline.lastLevel];
  group.last = t;
  group.dirty = true;
  for (const r of rows) {
    out.scores[r] = score;
    out.levels[r] = group.index.has(seriesOf(r).metric) ? level : NOT_SCORED;
  }
  const change = group.pipeline.lastEventChange;
  if (change !== null) out.event(rows[0] as number, change, device, null, route.strategy);
}
