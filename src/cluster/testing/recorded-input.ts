/**
 * A recorded fleet for the cluster tests and bench: `devices` devices, one point a minute each
 * with two metrics, seeded noise around per-device levels, and spikes (anomalies) at seeded
 * places. Batches are one timestamp of every device, in time order.
 */
import { Rng } from '../../core/stats/rng.js';
import type { IngestPoint } from '../../engine/engine.js';

export const T0 = Date.UTC(2026, 5, 1);

export function recordedBatches(devices: number, steps: number, seed = 15): IngestPoint[][] {
  const rng = Rng.fromSeed(seed);
  const rnd = () => rng.next();
  const base = Array.from({ length: devices }, () => 20 + rnd() * 10);
  const spikes = Array.from({ length: devices }, () => {
    const at = new Set<number>();
    for (let k = 0; k < 3; k++) at.add(Math.floor(steps * 0.4 + rnd() * steps * 0.55));
    return at;
  });
  const batches: IngestPoint[][] = [];
  for (let s = 0; s < steps; s++) {
    const batch: IngestPoint[] = [];
    for (let d = 0; d < devices; d++) {
      const spike = spikes[d]?.has(s) === true ? 25 : 0;
      batch.push({
        timestamp: T0 + s * 60_000,
        device_id: `dev-${String(d).padStart(3, '0')}`,
        metrics: {
          temp: Math.round(((base[d] ?? 20) + rnd() + spike) * 1000) / 1000,
          load: Math.round((0.5 + rnd() * 0.1 + (spike > 0 ? 0.9 : 0)) * 1000) / 1000,
        },
      });
    }
    batches.push(batch);
  }
  return batches;
}
