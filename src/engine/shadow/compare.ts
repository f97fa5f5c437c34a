/**
 * Side-by-side comparison of a shadow run (docs/shadow.md): the active strategy and the candidate
 * on the same points of the same series. Pure: events and counters in, numbers out.
 *
 * - alarm rate: events per 10,000 points scored (as `alarms per 10k` in docs/ab-testing.md);
 * - overlap: an event overlaps when its span [start, end] (an open event runs to the last point
 *   scored) shares time with an event of the other side on the same series; counted both ways;
 * - detection delay: for each candidate event that overlaps active ones, its start minus the
 *   earliest overlapping active start (negative: the candidate flagged first); the mean;
 * - precision: anomaly / (anomaly + false_alarm) over labelled events (docs/labels.md).
 */
import type { StoredEvent } from '../../store/store.js';
import type { ShadowCounters } from './types.js';

export interface SideComparison {
  readonly points: number;
  readonly events: number;
  readonly alarmsPer10k: number | null;
  /** Mean time in the side's pipeline per point (ns), null before any point. */
  readonly nsPerPoint: number | null;
  /** Events that overlap an event of the other side, and their share of this side's events. */
  readonly overlapping: number;
  readonly overlapShare: number | null;
  readonly labelled: number;
  readonly precision: number | null;
}

export interface ShadowComparison {
  readonly points: number;
  readonly series: number;
  readonly firstTime: number | null;
  readonly lastTime: number | null;
  readonly active: SideComparison;
  readonly candidate: SideComparison;
  /** Mean of candidate start − active start over overlapping candidate events (ms). */
  readonly meanDelayMs: number | null;
  readonly delayPairs: number;
}

const seriesOf = (e: StoredEvent): string => `${e.device}\u0000${e.metric ?? ''}`;

function bySeries(events: readonly StoredEvent[]): Map<string, StoredEvent[]> {
  const out = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const list = out.get(seriesOf(e));
    if (list === undefined) out.set(seriesOf(e), [e]);
    else list.push(e);
  }
  return out;
}

function overlapsOf(
  e: StoredEvent,
  others: Map<string, StoredEvent[]>,
  lastTime: number,
): StoredEvent[] {
  const end = e.end ?? lastTime;
  return (others.get(seriesOf(e)) ?? []).filter(
    (o) => o.start <= end && (o.end ?? lastTime) >= e.start,
  );
}

function side(
  points: number,
  ns: number,
  events: readonly StoredEvent[],
  overlapping: number,
): SideComparison {
  let anomaly = 0;
  let falseAlarm = 0;
  let labelled = 0;
  for (const e of events) {
    if (e.label === undefined) continue;
    labelled++;
    if (e.label.label === 'anomaly') anomaly++;
    else if (e.label.label === 'false_alarm') falseAlarm++;
  }
  return {
    points,
    events: events.length,
    alarmsPer10k: points > 0 ? (events.length * 10_000) / points : null,
    nsPerPoint: points > 0 ? ns / points : null,
    overlapping,
    overlapShare: events.length > 0 ? overlapping / events.length : null,
    labelled,
    precision: anomaly + falseAlarm > 0 ? anomaly / (anomaly + falseAlarm) : null,
  };
}

export function compareShadow(
  counters: ShadowCounters,
  active: readonly StoredEvent[],
  candidate: readonly StoredEvent[],
): ShadowComparison {
  const lastTime = counters.lastTime ?? Number.POSITIVE_INFINITY;
  const activeBySeries = bySeries(active);
  const candidateBySeries = bySeries(candidate);
  let delaySum = 0;
  let delayPairs = 0;
  let candidateOverlapping = 0;
  for (const e of candidate) {
    const hits = overlapsOf(e, activeBySeries, lastTime);
    if (hits.length === 0) continue;
    candidateOverlapping++;
    delaySum += e.start - Math.min(...hits.map((h) => h.start));
    delayPairs++;
  }
  let activeOverlapping = 0;
  for (const e of active) {
    if (overlapsOf(e, candidateBySeries, lastTime).length > 0) activeOverlapping++;
  }
  return {
    points: counters.points,
    series: counters.series,
    firstTime: counters.firstTime,
    lastTime: counters.lastTime,
    active: side(counters.points, counters.activeNs, active, activeOverlapping),
    candidate: side(counters.points, counters.candidateNs, candidate, candidateOverlapping),
    meanDelayMs: delayPairs > 0 ? delaySum / delayPairs : null,
    delayPairs,
  };
}
