/**
 * `Engine.routing`: hot swaps of the active strategy set. The shards plan and commit (each
 * between two of its batches); the engine's set and its stored record follow the commit, and the
 * events a swap closes go where scored events go.
 */
import type { StrategyRouting } from './engine.js';
import type { ActiveStrategies } from './active-strategies.js';
import type { ShardEvent } from './scoring/protocol.js';
import type { ShardPool } from './scoring/shard-pool.js';

export function strategyRouting(
  active: ActiveStrategies,
  pool: ShardPool,
  onEvent: (event: ShardEvent) => void,
  log: (message: string) => void,
): StrategyRouting {
  return {
    active: () => ({ strategies: active.strategies, fallback: active.fallback }),
    plan: (strategies, fallback) => pool.plan(strategies, fallback),
    commit: async (strategies, fallback, warm) => {
      active.set(strategies, fallback);
      const { moved, events } = await pool.commit(strategies, fallback, warm);
      for (const e of events) onEvent(e);
      await active
        .save()
        .catch((error: unknown) =>
          log(
            `saving the active strategies failed (a restart may not resume them): ${String(error)}`,
          ),
        );
      return moved;
    },
  };
}
