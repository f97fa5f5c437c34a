/**
 * How a shard names its checkpointed state (docs/engine.md, "Scoring shards"): the store key of a
 * series or of a device group, a strategy's `name@version` label, and the tag a snapshot carries
 * so the series can be rebuilt from the checkpoint alone. These strings are the checkpoint
 * format: changing one orphans every stored checkpoint.
 */
import { createHash } from 'node:crypto';
import type { Strategy } from '../../core/strategy/schema.js';

/** Extra fields kept in a checkpoint's snapshot, so the series can be rebuilt from it alone. */
export interface EngineTag {
  readonly engine: { readonly device: string; readonly metric: string | null };
}

export const hashKey = (...parts: string[]): string =>
  createHash('sha1').update(JSON.stringify(parts)).digest('hex');

/** Checkpoint key of a series (the store limits keys to 200 characters, hence the hash). */
export const seriesKey = (device: string, metric: string): string => `s:${hashKey(device, metric)}`;
/** Checkpoint key of a device group of a vector strategy. */
export const groupKey = (device: string, label: string): string => `d:${hashKey(device, label)}`;

export const labelOf = (strategy: Strategy): string => `${strategy.name}@${strategy.version}`;
