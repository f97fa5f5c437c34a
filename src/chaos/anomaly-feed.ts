/**
 * The events half of the chaos run: a deterministic series per device (a daily wave plus seeded
 * noise, with spikes injected at seeded places) sent in event-time order, batch after batch,
 * once through the kills and once to an undisturbed service; their events must be the same.
 */
import { Rng } from '../core/stats/rng.js';
import { BASE_TIME, type ChaosPoint } from './points.js';
import type { BatchSource } from './streaming-client.js';

export const FEED_DEVICES = 3;
export const FEED_STEP_MS = 60_000;
export const FEED_BATCH_PER_DEVICE = 20;

export interface FeedShape {
  readonly pointsPerDevice: number;
  readonly spikesPerDevice: number;
}

/** Device `index`'s series: values by position, spikes (+12 to +20) after a 500-point warm-up. */
export function feedSeries(seed: number, index: number, shape: FeedShape): number[] {
  const rng = Rng.fromSeed(seed * 31 + index + 1);
  const values = Array.from(
    { length: shape.pointsPerDevice },
    (_, i) => 20 + 3 * Math.sin((2 * Math.PI * i) / 1440) + rng.uniform(-0.5, 0.5),
  );
  const span = shape.pointsPerDevice - 500;
  for (let k = 0; k < shape.spikesPerDevice && span > 0; k++) {
    const at = 500 + Math.floor(((k + rng.next()) * span) / shape.spikesPerDevice);
    const width = 1 + Math.floor(rng.next() * 4);
    const height = rng.uniform(12, 20);
    for (let j = at; j < Math.min(at + width, values.length); j++) values[j]! += height;
  }
  // Rounded to what every encoding carries exactly.
  return values.map((v) => Math.round(v * 1000) / 1000);
}

export const feedDevice = (run: string, index: number): string => `${run}-feed-${index}`;

/** Batches of `FEED_BATCH_PER_DEVICE` positions of every device, in event-time order. */
export function feedSource(
  run: string,
  seed: number,
  shape: FeedShape,
): BatchSource & {
  readonly sentThrough: () => number;
} {
  const series = Array.from({ length: FEED_DEVICES }, (_, d) => feedSeries(seed, d, shape));
  let position = 0;
  let acked = 0;
  return {
    next() {
      if (position >= shape.pointsPerDevice) return null;
      const end = Math.min(shape.pointsPerDevice, position + FEED_BATCH_PER_DEVICE);
      const batch: ChaosPoint[] = [];
      for (let i = position; i < end; i++) {
        for (let d = 0; d < FEED_DEVICES; d++) {
          batch.push({
            seq: i,
            device: feedDevice(run, d),
            metric: 'level',
            time: BASE_TIME + i * FEED_STEP_MS,
            value: series[d]![i]!,
          });
        }
      }
      position = end;
      return batch;
    },
    acked(batch) {
      acked = Math.max(acked, (batch[batch.length - 1]?.seq ?? -1) + 1);
    },
    sentThrough: () => acked,
  };
}
