/**
 * Cluster-wide shadow runs in the JetStream KV bucket of strategy announcements (docs/cluster.md,
 * "Shadow runs"). Runs themselves live in the shared store; the bucket carries:
 *
 * - `shadow.<run>`: present while the run is running (any node writes it after storing the run,
 *   and deletes it after ending the run); every scorer watches these keys and sets its
 *   partitions' runs to the store's running runs.
 * - `shadowstats.<run>.<partition>`: a partition's counters of the run, written by the scorer
 *   that owns the partition (a partition that moves is rewritten by its new owner, which restored
 *   the counters with the candidate state). Any node sums them for the cluster's counters.
 */
import type { KV } from '@nats-io/kv';
import { emptyCounters, sumCounters, type ShadowCounters } from '../engine/shadow/types.js';

const RUN = 'shadow.';
const STATS = 'shadowstats.';

export const shadowRunKey = (run: number): string => `${RUN}${run}`;
export const shadowStatsKey = (run: number, partition: number): string =>
  `${STATS}${run}.${partition}`;

/** Most shadowed series a partition's counters list (they bound a KV value's size). */
export const MAX_PARTITION_SERIES = 5_000;

/** Tell the scorers a run started. */
export async function announceShadowRun(kv: KV, run: number, label: string): Promise<void> {
  await kv.put(shadowRunKey(run), label);
}

/** Tell the scorers a run ended, and drop its partitions' counters (the store keeps the total). */
export async function retireShadowRun(kv: KV, run: number): Promise<void> {
  await kv.delete(shadowRunKey(run));
  for (const key of await keysOf(kv, `${STATS}${run}.*`)) await kv.purge(key);
}

/** Keys matching `filter`, each once (a key written while listed can be listed twice). */
async function keysOf(kv: KV, filter: string): Promise<string[]> {
  const keys = new Set<string>();
  for await (const key of await kv.keys(filter)) keys.add(key);
  return [...keys];
}

/** Publish a partition's counters of a run. */
export async function publishShadowCounters(
  kv: KV,
  partition: number,
  counters: ShadowCounters,
): Promise<void> {
  const value = { ...counters, shadowed: counters.shadowed.slice(0, MAX_PARTITION_SERIES) };
  await kv.put(shadowStatsKey(counters.run, partition), JSON.stringify(value));
}

/** A run's counters summed over the partitions that published some. */
export async function clusterShadowCounters(kv: KV, run: number): Promise<ShadowCounters> {
  const parts: ShadowCounters[] = [];
  for (const key of await keysOf(kv, `${STATS}${run}.*`)) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    try {
      const value = entry.json<ShadowCounters>();
      parts.push({ ...emptyCounters(run), ...value, run });
    } catch {
      // A malformed entry counts as none; its owner rewrites it.
    }
  }
  return sumCounters(parts)[0] ?? emptyCounters(run);
}

/** Calls `onChange` for every change of a run key (the current ones first) until the stop. */
export async function watchShadowRuns(
  kv: KV,
  onChange: () => void,
  warn: (message: string) => void,
): Promise<() => void> {
  const watch = await kv.watch({ key: `${RUN}*` });
  void (async () => {
    try {
      for await (const entry of watch) {
        void entry;
        onChange();
      }
    } catch (error) {
      warn(`shadow run announcements: watch ended: ${String(error)}`);
    }
  })();
  return () => watch.stop();
}
