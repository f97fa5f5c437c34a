import type { Strategy } from '../../core/strategy/schema.js';
import type { AnomalyEvent } from '../../core/events/types.js';

/** What the main thread asks a corpus worker to do. */
export interface CorpusJob {
  readonly dataDir: string;
  readonly strategy: Strategy;
  /** Indexes into the corpus file list (the same order in every thread). */
  readonly files: readonly number[];
}

/** One file's scores, sent back as soon as the file is done (the buffer is transferred). */
export interface FileScores {
  readonly file: number;
  readonly scores: Float64Array;
  /** Level per point: 0 ok, 1 alert, 2 severe (the buffer is transferred too). */
  readonly levels: Uint8Array;
  /** The file's events as the pipeline raised them (final state of each, by id). */
  readonly events: readonly AnomalyEvent[];
  /** Time spent scoring this file on the worker, for points per second per core. */
  readonly seconds: number;
}
