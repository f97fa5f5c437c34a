/**
 * What the engine and its scoring shards exchange about shadow runs (docs/shadow.md). Plain data:
 * it crosses worker-thread boundaries.
 */
import type { Strategy } from '../../core/strategy/schema.js';

/** A run as a shard needs it: its id and the candidate strategy version. */
export interface ShadowSpec {
  readonly run: number;
  readonly strategy: Strategy;
}

/** A run's counters in one shard (summed over shards by the engine). */
export interface ShadowCounters {
  readonly run: number;
  /** Points scored by both sides (the candidate scores exactly the points the active one does). */
  points: number;
  /** Time spent in the active pipeline and in the candidate's on those points (ns). */
  activeNs: number;
  candidateNs: number;
  /** Events opened on the shadowed series by each side while the run scored them. */
  activeEvents: number;
  candidateEvents: number;
  /** Series the run shadows. */
  series: number;
  /** Event-time range of the points scored (ms), null before the first. */
  firstTime: number | null;
  lastTime: number | null;
  /** The shadowed series as [device, metric]. */
  shadowed: [string, string][];
}

/** Counters of several shards as one. */
export function sumCounters(parts: readonly ShadowCounters[]): ShadowCounters[] {
  const byRun = new Map<number, ShadowCounters>();
  for (const p of parts) {
    const into = byRun.get(p.run);
    if (into === undefined) {
      byRun.set(p.run, { ...p, shadowed: [...p.shadowed] });
      continue;
    }
    into.points += p.points;
    into.activeNs += p.activeNs;
    into.candidateNs += p.candidateNs;
    into.activeEvents += p.activeEvents;
    into.candidateEvents += p.candidateEvents;
    into.series += p.series;
    if (p.firstTime !== null) {
      into.firstTime =
        into.firstTime === null ? p.firstTime : Math.min(into.firstTime, p.firstTime);
    }
    if (p.lastTime !== null) {
      into.lastTime = into.lastTime === null ? p.lastTime : Math.max(into.lastTime, p.lastTime);
    }
    into.shadowed.push(...p.shadowed);
  }
  return [...byRun.values()].sort((a, b) => a.run - b.run);
}

/** Counters of a run that has scored nothing yet. */
export function emptyCounters(run: number): ShadowCounters {
  return {
    run,
    points: 0,
    activeNs: 0,
    candidateNs: 0,
    activeEvents: 0,
    candidateEvents: 0,
    series: 0,
    firstTime: null,
    lastTime: null,
    shadowed: [],
  };
}
