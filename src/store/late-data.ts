/**
 * Late data reaching the continuous aggregates. A write below an aggregate's watermark is
 * recorded in `aggregate_dirty_ranges` in the write's own transaction (timescale.ts,
 * `recordLateWrite`); this owner refreshes those ranges soon after, coalesced per aggregate and
 * aligned outward to whole buckets, then forgets them. Until then the querier reads the points
 * for any bucketed query that overlaps a dirty range (sql-querier.ts), so answers stay exact.
 */
import { errorMessage, ms } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import {
  AGGREGATE_BUCKET,
  AGGREGATES,
  alignedWindow,
  refreshAggregate,
  type Aggregate,
  type TimeWindow,
} from './timescale.js';

/**
 * Merge windows after aligning each outward to `bucketMs`: overlapping or touching windows
 * become one refresh. Sorted by start.
 */
export function coalesce(windows: readonly TimeWindow[], bucketMs: number): TimeWindow[] {
  const aligned = windows
    .map((w) => alignedWindow(w, bucketMs))
    .filter((w): w is TimeWindow => w !== null)
    .sort((a, b) => a.from - b.from);
  const out: { from: number; to: number }[] = [];
  for (const w of aligned) {
    const last = out[out.length - 1];
    if (last !== undefined && w.from <= last.to) last.to = Math.max(last.to, w.to);
    else out.push({ from: w.from, to: w.to });
  }
  return out;
}

export interface LateDataOptions {
  /** Earliest time that may still hold points (retention), ms; -Infinity without retention. */
  readonly floor: () => number;
  /** Wait after a late write before refreshing, so a backfill's commits coalesce. Default 1 s. */
  readonly delayMs?: number;
  /** Wait before trying again after a failed refresh. Default 30 s. */
  readonly retryMs?: number;
  readonly log?: (message: string) => void;
}

interface DirtyRow {
  id: string;
  aggregate: string;
  f: number;
  t: number;
}

export class LateDataRefresher {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> = Promise.resolve(0);
  #closed = false;

  constructor(
    private readonly driver: SqlDriver,
    private readonly options: LateDataOptions,
  ) {}

  /** A late write was committed: refresh soon. */
  notify(): void {
    this.#schedule(this.options.delayMs ?? 1000);
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.refreshNow().catch((error: unknown) => {
        this.options.log?.(
          `refreshing late data in the aggregates failed, retrying: ${errorMessage(error)}`,
        );
        this.#schedule(this.options.retryMs ?? 30_000);
      });
    }, delayMs);
    // A pending refresh must not keep the process alive; the ranges stay recorded.
    this.#timer.unref();
  }

  /** Refresh every recorded range now (one run at a time); returns the refreshes made. */
  refreshNow(): Promise<number> {
    const run = this.#running.catch(() => 0).then(() => this.#refresh());
    this.#running = run;
    return run;
  }

  async #refresh(): Promise<number> {
    const rows = (
      await this.driver.query<DirtyRow>({
        name: 'vigil_dirty_ranges',
        text: `SELECT id::text AS id, aggregate, ${ms('from_time')} AS f, ${ms('to_time')} AS t
               FROM aggregate_dirty_ranges`,
      })
    ).rows;
    if (rows.length === 0) return 0;
    const floor = this.options.floor();
    let refreshes = 0;
    for (const view of AGGREGATES) {
      const windows = rows.filter((r) => r.aggregate === view).map((r) => ({ from: r.f, to: r.t }));
      for (const window of coalesce(windows, AGGREGATE_BUCKET[view as Aggregate])) {
        await refreshAggregate(this.driver, view, window, floor);
        refreshes++;
      }
    }
    // Only the rows refreshed: ranges recorded meanwhile wait for the next run.
    await this.driver.query({
      text: 'DELETE FROM aggregate_dirty_ranges WHERE id = ANY($1::bigint[])',
      values: [rows.map((r) => r.id)],
    });
    return refreshes;
  }

  /** Stop the timer and wait for a refresh in progress; recorded ranges stay for the next open. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running.catch(() => 0);
  }
}
