/**
 * The Engine that the HTTP and gRPC servers of an ingest or scorer node talk to
 * (docs/cluster.md): ingest goes to the stream (ingest nodes; scorers take none), the live feed
 * comes from the event bus, unary Detect is relayed to the partitions' owners
 * (detect-relay.ts), the rest of the engine lives in the scorers and is refused here with a
 * clear error.
 */
import { VigilError } from '../errors.js';
import type { Engine, EngineStats, IngestPoint, IngestResult } from '../engine/engine.js';
import type { FeedHub } from './event-bus.js';
import type { IngestPublisher } from './ingest.js';
import type { Role } from './config.js';

const elsewhere = (what: string, role: Role): VigilError =>
  new VigilError(
    'VIGIL_ERR_NOT_FOUND',
    `${what} is not available on a cluster ${role} node: scoring runs in the scorers (docs/cluster.md)`,
  );

export function clusterNodeEngine(
  role: Role,
  feed: FeedHub,
  publisher: IngestPublisher | undefined,
  /** Unary Detect through the partitions' owners (detect-relay.ts). */
  detect: Engine['detect'],
): Engine {
  const stats = (): EngineStats => ({
    accepted: publisher?.stats().accepted ?? 0,
    rejected: publisher?.stats().rejected ?? 0,
    stored: 0,
    scored: 0,
    notScored: 0,
    queued: 0,
    series: 0,
    evictedSeries: 0,
    checkpoints: 0,
    lastCheckpointWallMs: null,
    log: { bytes: 0, entries: 0 },
    workers: 0,
  });
  return {
    ingest: async (points: readonly IngestPoint[]): Promise<IngestResult> => {
      if (publisher === undefined) {
        throw new VigilError(
          'VIGIL_ERR_NOT_READY',
          'a scorer node takes no points: send them to an ingest node (docs/cluster.md)',
        );
      }
      return publisher.ingest(points);
    },
    detect,
    subscribe: (listener) => feed.subscribe(listener),
    close: () => Promise.resolve(),
    stats,
    routing: {
      active: () => {
        throw elsewhere('the active strategy set', role);
      },
      plan: () => Promise.reject(elsewhere('a strategy plan', role)),
      commit: () => Promise.reject(elsewhere('a strategy change', role)),
    },
    shadows: {
      runs: () => [],
      set: () => Promise.reject(elsewhere('a shadow run', role)),
      counters: () => Promise.resolve([]),
    },
    checkpoint: () => Promise.resolve(),
    flush: () => Promise.resolve(),
  };
}
