/**
 * Replaying a data set through two strategies on identical input. Both sides run on the same
 * thread, one after the other per file, reading the very same `times`/`values` arrays in row
 * order, so they see exactly the same points in the same order. The order of the two alternates
 * from file to file (A then B, B then A, …) so neither always pays for a cold cache or JIT.
 */
import type { AnomalyEvent, EventChange } from '../../core/events/types.js';
import type { Level } from '../../core/thresholds/threshold.js';
import type { NabCorpus, NabFile } from '../nab/index.js';

/** What a replay needs of a compiled strategy (a `SeriesPipeline` is one). */
export interface Scorer {
  process(timeMs: number, value: number): number;
  readonly lastLevel: Level;
  readonly lastEventChange: EventChange | null;
  flushEvents(timeMs: number): EventChange | null;
}

export interface Side {
  /** How reports name the side, e.g. `default@1`. */
  readonly name: string;
  /** A fresh scorer per file; every file gets the same key, so nothing about a file leaks in. */
  scorerFor(key: string): Scorer;
}

export interface FileRun {
  readonly scores: Float64Array;
  /** 0 ok, 1 alert, 2 severe. */
  readonly levels: Uint8Array;
  readonly events: readonly AnomalyEvent[];
  /** Wall time of the scoring loop, ns (process.hrtime). */
  readonly nanos: number;
}

const LEVEL_CODES: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };

/** Score one file with one side, timing the loop. */
export function replayFile(side: Side, file: NabFile): FileRun {
  const { times, values } = file;
  const n = values.length;
  const scores = new Float64Array(n);
  const levels = new Uint8Array(n);
  const changes: EventChange[] = [];
  const scorer = side.scorerFor('ab');
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    scores[i] = scorer.process(times[i] as number, values[i] as number);
    levels[i] = LEVEL_CODES[scorer.lastLevel];
    const change = scorer.lastEventChange;
    if (change !== null) changes.push(change);
  }
  const nanos = Number(process.hrtime.bigint() - started);
  const last = scorer.flushEvents(n > 0 ? (times[n - 1] as number) : 0);
  if (last !== null) changes.push(last);
  const byId = new Map<string, AnomalyEvent>();
  for (const c of changes) byId.set(c.event.id, c.event);
  return { scores, levels, events: [...byId.values()], nanos };
}

export interface PairRun {
  /** Per corpus file, in corpus order. */
  readonly a: FileRun[];
  readonly b: FileRun[];
}

/** Both sides over every file; `onFile` reports progress. */
export function replayPair(
  corpus: NabCorpus,
  a: Side,
  b: Side,
  onFile?: (index: number, file: NabFile) => void,
): PairRun {
  const runsA: FileRun[] = [];
  const runsB: FileRun[] = [];
  corpus.files.forEach((file, f) => {
    if (f % 2 === 0) {
      runsA.push(replayFile(a, file));
      runsB.push(replayFile(b, file));
    } else {
      runsB.push(replayFile(b, file));
      runsA.push(replayFile(a, file));
    }
    onFile?.(f, file);
  });
  return { a: runsA, b: runsB };
}
