/**
 * The points `npm run bench:ingest` sends, shared by the load generator (src/bench/ingest-load.ts)
 * and the `psql \copy` limit (src/bench/ingest.ts), so both write the same rows.
 *
 * Point `i` of a phase: device `<prefix>-d<i mod DEVICES>`, one metric `value`, time
 * START + ⌊i / DEVICES⌋ s. One point is one stored row. Every phase uses its own prefix, so its
 * series are new and no point duplicates an earlier one.
 */
export const DEVICES = 100;
export const METRIC = 'value';
export const START = Date.UTC(2026, 0, 1);

export interface BenchPoint {
  readonly device: string;
  readonly time: number;
  readonly value: number;
}

export function benchPoint(prefix: string, i: number): BenchPoint {
  const noise = (Math.imul(i + 1, 2654435761) >>> 0) / 2 ** 32;
  return {
    device: `${prefix}-d${i % DEVICES}`,
    time: START + Math.floor(i / DEVICES) * 1000,
    value: 50 + 10 * Math.sin(i / 5000) + noise,
  };
}

/** Rows for `\copy points (device_id, metric, time, value) from stdin` (text format). */
export function copyRows(prefix: string, first: number, count: number): string {
  const lines: string[] = [];
  for (let i = first; i < first + count; i++) {
    const p = benchPoint(prefix, i);
    lines.push(`${p.device}\t${METRIC}\t${new Date(p.time).toISOString()}\t${p.value}\n`);
  }
  return lines.join('');
}

/** The load generator's report: one JSON line on its stdout. */
export interface LoadResult {
  readonly transport: string;
  readonly mode: 'closed' | 'open';
  /** Wall-clock ms (Date.now()) of the first request and of the last ack. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly requests: number;
  readonly acked: number;
  readonly pointsAcked: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}
