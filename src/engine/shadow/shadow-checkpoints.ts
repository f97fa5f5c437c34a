/**
 * Checkpoints of shadow runs' candidate state (docs/shadow.md, "Restarts"): taken with the active
 * ones, keyed by run, each with its share of the run's counters, so a restart resumes both from
 * the same point and the log replay counts only what it scores again. Checkpoints of runs no
 * longer running are ignored (and deleted when a run ends).
 */
import { createHash } from 'node:crypto';
import type { PipelineSnapshot } from '../../core/strategy/pipeline.js';
import type { Checkpoint } from '../../store/store.js';
import type { RestoreItem } from '../scoring/protocol.js';
import type { ShadowSpec } from './types.js';

/** Every candidate checkpoint key starts with this (active series use `s:`, groups `d:`). */
const PREFIX = 'x:';

/** Keys of one run's candidate checkpoints start with this. */
export const shadowKeyPrefix = (run: number): string => `${PREFIX}${run}:`;

/** Checkpoint key of a run's candidate state for a series (hashed: keys are at most 200 chars). */
export function shadowKey(run: number, device: string, metric: string): string {
  const hash = createHash('sha1')
    .update(JSON.stringify([device, metric]))
    .digest('hex');
  return `${shadowKeyPrefix(run)}${hash}`;
}

export const isShadowKey = (key: string): boolean => key.startsWith(PREFIX);

/** A candidate series' share of its run's counters, checkpointed with its state. */
export interface ShadowTally {
  points: number;
  activeNs: number;
  candidateNs: number;
  activeEvents: number;
  candidateEvents: number;
  /** Event time of the first point scored (ms), null before it. */
  firstTime: number | null;
}

export const emptyTally = (): ShadowTally => ({
  points: 0,
  activeNs: 0,
  candidateNs: 0,
  activeEvents: 0,
  candidateEvents: 0,
  firstTime: null,
});

/** What a candidate checkpoint's snapshot carries beside the pipeline's own state. */
export interface ShadowTag {
  readonly shadow: {
    readonly run: number;
    readonly device: string;
    readonly metric: string;
    readonly tally: ShadowTally;
  };
}

/** A tally read back from a checkpoint; anything malformed counts as zero. */
export function tallyOf(value: unknown): ShadowTally {
  const t = (value ?? {}) as Partial<Record<keyof ShadowTally, unknown>>;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    points: num(t.points),
    activeNs: num(t.activeNs),
    candidateNs: num(t.candidateNs),
    activeEvents: num(t.activeEvents),
    candidateEvents: num(t.candidateEvents),
    firstTime: typeof t.firstTime === 'number' ? t.firstTime : null,
  };
}

/**
 * Candidate checkpoints of the runs scoring now, split by the shard that owns their device under
 * the current worker count. Checkpoints of other runs (ended, or not resumed) and of another
 * version than the run's candidate are left out.
 */
export function shadowRestoreItems(
  checkpoints: readonly Required<Checkpoint>[],
  runs: readonly ShadowSpec[],
  shards: number,
  shardOf: (device: string) => number,
  log: (message: string) => void,
): RestoreItem[][] {
  const items = Array.from({ length: shards }, () => [] as RestoreItem[]);
  const byRun = new Map(runs.map((r) => [r.run, r.strategy]));
  let ignored = 0;
  for (const checkpoint of checkpoints) {
    const snapshot = checkpoint.snapshot as PipelineSnapshot & Partial<ShadowTag>;
    const tag = snapshot.shadow;
    const candidate = tag === undefined ? undefined : byRun.get(tag.run);
    if (
      tag === undefined ||
      candidate === undefined ||
      candidate.name !== snapshot.strategy ||
      candidate.version !== snapshot.version
    ) {
      ignored++;
      continue;
    }
    const { run, device, metric } = tag;
    items[shardOf(device)]?.push({ kind: 'shadow', run, device, metric, checkpoint });
  }
  if (ignored > 0) log(`${ignored} candidate checkpoints of shadow runs not running were ignored`);
  return items;
}
