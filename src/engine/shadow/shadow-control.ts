/**
 * The engine's handle on shadow runs (docs/shadow.md): which runs every shard scores, and their
 * counters summed over shards. Requests queue behind the batches each shard was already given,
 * so a run starts and stops between two points of every series.
 */
import type { ShardEvent } from '../scoring/protocol.js';
import type { ShardClient } from '../scoring/shard-client.js';
import { sumCounters, type ShadowCounters, type ShadowSpec } from './types.js';

export interface ShadowControl {
  /** The runs scoring now. */
  runs(): readonly ShadowSpec[];
  /**
   * Make these the runs (by run id: runs kept keep their detector state). Open events of runs
   * removed are closed at their last scored time and stored.
   */
  set(runs: readonly ShadowSpec[]): Promise<void>;
  /** Counters of each run since this process started scoring it. */
  counters(): Promise<ShadowCounters[]>;
}

export function shadowControl(
  initial: readonly ShadowSpec[],
  shards: () => readonly ShardClient[],
  store: (event: ShardEvent) => void,
): ShadowControl {
  let current = [...initial];
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };
  return {
    runs: () => current,
    set: (runs) =>
      serial(async () => {
        current = [...runs];
        const replies = await Promise.all(
          shards().map((s) => s.request({ op: 'shadows', runs: current })),
        );
        for (const reply of replies) for (const e of reply.events) store(e);
      }),
    counters: async () => {
      const replies = await Promise.all(shards().map((s) => s.request({ op: 'shadow-stats' })));
      return sumCounters(replies.flatMap((r) => r.runs));
    },
  };
}
