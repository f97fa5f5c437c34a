import type { SeriesPipeline } from '../core/strategy/pipeline.js';
import { VigilError } from '../errors.js';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The reference: an exponentially weighted z-score written as one tight loop over a typed array,
 * no objects, no calls. Returns a checksum so the JIT cannot drop the work.
 */
export function bareEwZscoreLoop(values: Float64Array, alpha: number): number {
  let mean = values[0] ?? 0;
  let variance = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    const diff = x - mean;
    const std = Math.sqrt(variance);
    const z = Math.abs(diff) / (std > 1e-6 ? std : 1e-6);
    sum += z / (z + 3);
    const incr = alpha * diff;
    mean += incr;
    variance = (1 - alpha) * (variance + diff * incr);
  }
  return sum;
}

/**
 * Heap bytes per live series: builds `count` pipelines, feeds each a few hundred points of a real
 * series so the state is warm, then as many again, and divides the heap growth of the second
 * batch (after forced GCs) by `count`. Measuring the second batch leaves out what the first one
 * allocates once (compiled code, shared params, caches) and garbage from loading the corpus that
 * a forced GC does not free at once, which made a single before/after difference drift by
 * several KB. Typed-array backing stores live outside the JS heap, so they are counted too.
 * Needs `--expose-gc`.
 */
export function heapPerSeries(
  pipelineFor: (key: string) => SeriesPipeline,
  sample: { times: Float64Array; values: Float64Array },
  count: number,
): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new VigilError('VIGIL_ERR_USAGE', 'run with node --expose-gc');
  const live: SeriesPipeline[] = new Array(2 * count);
  const feed = Math.min(300, sample.values.length);
  const build = (from: number): void => {
    for (let s = from; s < from + count; s++) {
      const pipeline = pipelineFor(`series-${s}`);
      for (let i = 0; i < feed; i++) pipeline.process(sample.times[i]!, sample.values[i]!);
      live[s] = pipeline;
    }
  };
  build(0);
  const before = usedBytes(gc);
  build(count);
  const bytes = (usedBytes(gc) - before) / count;
  if (live.length !== 2 * count) throw new Error('unreachable');
  return bytes;
}

function usedBytes(gc: () => void): number {
  gc();
  gc();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
}
