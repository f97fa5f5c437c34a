/**
 * The dirty-tracking every checkpointed state shares, active series, device groups and shadow
 * candidates alike: a state changed since its last checkpoint is snapshotted once, and one whose
 * checkpoint could not be written is marked to be taken again. A state that has scored nothing
 * (`last` is −∞) has nothing to checkpoint.
 */
import type { Checkpoint } from '../../store/store.js';
import type { PipelineSnapshot } from '../../core/strategy/pipeline.js';

export interface Checkpointed {
  /** Store key of its checkpoint. */
  readonly ckKey: string;
  /** Event time of the last point scored (−∞ before the first). */
  last: number;
  /** Changed since its last checkpoint. */
  dirty: boolean;
}

/**
 * Append a checkpoint of each dirty state that has scored, and mark it clean. `snapshotOf` gives
 * the tagged snapshot, or undefined for a state with nothing of its own to keep (it stays dirty).
 */
export function snapshotDirty<S extends Checkpointed>(
  states: Iterable<S | undefined>,
  wallTime: number,
  snapshotOf: (state: S) => PipelineSnapshot | undefined,
  into: { push(checkpoint: Checkpoint): unknown },
): void {
  for (const s of states) {
    if (s === undefined || !s.dirty || !Number.isFinite(s.last)) continue;
    const snapshot = snapshotOf(s);
    if (snapshot === undefined) continue;
    into.push({ key: s.ckKey, snapshot, eventTime: s.last, wallTime });
    s.dirty = false;
  }
}

/** Mark dirty the states with these keys (their checkpoints were not written); returns how many. */
export function markDirty<S extends Checkpointed>(
  states: Iterable<S | undefined>,
  keys: ReadonlySet<string>,
): number {
  let marked = 0;
  for (const s of states) {
    if (s !== undefined && keys.has(s.ckKey)) {
      s.dirty = true;
      marked++;
    }
  }
  return marked;
}
