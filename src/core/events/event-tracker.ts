import { z } from 'zod';
import type { Level } from '../thresholds/threshold.js';
import { eventParamsSchema, type EventParams } from './params.js';
import type {
  AnomalyEvent,
  EventChange,
  EventExplanation,
  EventLevel,
  EventPeak,
  MetricContribution,
} from './types.js';
import { VigilError } from '../../errors.js';
import { sharedParams } from '../detectors/snapshot-parts.js';

export interface EventTrackerOptions {
  /** Series key (`device/metric`) or device. */
  readonly series: string;
  /** `name@version` of the strategy. */
  readonly strategy: string;
  /** Validated `events` params (`eventParamsSchema.parse(...)`). */
  readonly params: EventParams;
}

/** How many events the tracker has raised, merged and dropped since it was created. */
export interface EventCounts {
  /** Events reported (`open`). */
  readonly opened: number;
  /** Incidents that continued a closed event within its cool-down (`reopen`). */
  readonly merged: number;
  /** Incidents that ended before reaching the minimum duration: never reported. */
  readonly dropped: number;
}

/** The event being built: not yet reported (`reported` false) or open. */
interface Draft {
  /** Known once reported, or from the start for an incident that continues a closed event. */
  id: string | null;
  reported: boolean;
  start: number;
  /** Latest event time of a flagged point. */
  last: number;
  points: number;
  peak: EventPeak;
  explanation: EventExplanation | null;
  level: EventLevel;
  /** Started within the cool-down of `closed`: it continues that event once it qualifies. */
  merge: boolean;
}

interface Closed {
  readonly event: AnomalyEvent;
  /** Event time of the point that closed it; the cool-down runs from here. */
  readonly at: number;
}

const NO_VALUES: Readonly<Record<string, number>> = Object.freeze({});

/**
 * Turns one series' per-point levels into events: hysteresis, minimum duration, cool-down and
 * severe upgrade, on event time only, so the same input always gives the same events and ids.
 *
 * Feed every point in order to `update`; it returns the change the point caused, or null (most
 * points). An ok point while nothing is open costs one comparison. The explanation is computed
 * only when a point becomes the peak of the event being built, by calling `explain` right there:
 * the closure runs synchronously inside `update`, so it sees the detector as it was for this
 * point if `update` is called before the detector learns the point (or use `wantsExplanation`
 * to compute it ahead).
 */
export class EventTracker {
  readonly series: string;
  readonly strategy: string;
  readonly params: Readonly<EventParams>;
  private draft: Draft | null = null;
  /** Ok points in a row since the draft's last flagged point. */
  private okRun = 0;
  /** The last closed event, kept only while cool-downs are on. */
  private closed: Closed | null = null;
  private opened = 0;
  private merged = 0;
  private dropped = 0;

  /** Frozen `params` are kept by reference, so that series can share one object. */
  constructor(options: EventTrackerOptions) {
    this.series = options.series;
    this.strategy = options.strategy;
    this.params = Object.isFrozen(options.params)
      ? options.params
      : Object.freeze({ ...options.params });
  }

  /** Rebuild a tracker from `snapshot()` output (e.g. after a JSON round trip). */
  static restore(snapshot: unknown): EventTracker {
    const parsed = snapshotSchema.safeParse(snapshot);
    if (!parsed.success) {
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        `invalid event tracker snapshot: ${z.prettifyError(parsed.error)}`,
        { cause: parsed.error },
      );
    }
    const { series, strategy, params, state } = parsed.data;
    const tracker = new EventTracker({
      series,
      // One string and one params object for all the series of a strategy.
      strategy: sharedParams('events-strategy', { strategy }).strategy,
      params: sharedParams('events', params),
    });
    tracker.draft = state.draft ? { ...state.draft, peak: freezePeak(state.draft.peak) } : null;
    if (tracker.draft) tracker.draft.explanation = freezeExplanation(tracker.draft.explanation);
    tracker.okRun = state.okRun;
    tracker.closed = state.closed
      ? { event: freezeEvent(state.closed.event), at: state.closed.at }
      : null;
    tracker.opened = state.counts.opened;
    tracker.merged = state.counts.merged;
    tracker.dropped = state.counts.dropped;
    return tracker;
  }

  /**
   * One point, in event-time order: its time, score and level from the strategy's threshold.
   * `explain` is called (at most once) only if the point becomes the peak of the event being built.
   */
  update(
    timeMs: number,
    score: number,
    level: Level,
    explain?: () => EventExplanation,
  ): EventChange | null {
    let d = this.draft;
    if (level === 'ok') {
      if (d === null) {
        // The last closed event (with its explanation) is only needed for merging within its
        // cool-down: past it, an idle series need not carry it (memory per series).
        const closed = this.closed;
        if (closed !== null && timeMs - closed.at >= this.params.cooldown_ms) this.closed = null;
        return null;
      }
      this.okRun++;
      if (this.okRun < this.params.close_after_points) return null;
      // Time going backwards counts as none elapsed (so it never blocks a close_after_ms of 0).
      const elapsed = timeMs > d.last ? timeMs - d.last : 0;
      if (elapsed < this.params.close_after_ms) return null;
      return this.close(timeMs);
    }
    const s = Number.isFinite(score) ? score : 0;
    if (d === null) {
      if (level !== 'severe' && this.params.open_level === 'severe') return null;
      const closed = this.closed;
      const merge = closed !== null && timeMs - closed.at < this.params.cooldown_ms;
      if (!merge) this.closed = null;
      d = this.draft = {
        id: merge ? closed.event.id : null,
        reported: false,
        start: timeMs,
        last: timeMs,
        points: 0,
        peak: { time: timeMs, score: -1, values: NO_VALUES },
        explanation: null,
        level,
        merge,
      };
    }
    this.okRun = 0;
    if (timeMs > d.last) d.last = timeMs;
    d.points++;
    let changed = false;
    if (level === 'severe' && d.level === 'alert' && (!d.reported || this.params.severe_upgrade)) {
      d.level = 'severe';
      changed = true;
    }
    if (s > d.peak.score) {
      const explanation = explain ? freezeExplanation(explain()) : null;
      d.explanation = explanation;
      d.peak = freezePeak({ time: timeMs, score: s, values: valuesOf(explanation) });
      changed = true;
    }
    if (!d.reported) {
      if (d.points < this.params.min_points) return null;
      if (d.last - d.start < this.params.min_duration_ms) return null;
      return this.report(d, timeMs);
    }
    return changed ? { type: 'update', at: timeMs, event: this.build(d, null) } : null;
  }

  /**
   * Would `update(…, score, level, explain)` call `explain`? For callers that must compute the
   * explanation before the detector learns the point and only want to pay for it at peaks.
   */
  wantsExplanation(score: number, level: Level): boolean {
    if (level === 'ok') return false;
    const d = this.draft;
    if (d === null) return level === 'severe' || this.params.open_level === 'alert';
    return (Number.isFinite(score) ? score : 0) > d.peak.score;
  }

  /**
   * End of stream (or of a replay): close the open event at `timeMs` without waiting for the
   * hysteresis; an incident not yet reported is dropped. Returns the `close`, if any.
   */
  flush(timeMs: number): EventChange | null {
    return this.draft === null ? null : this.close(timeMs);
  }

  /** The open event as it stands, or null (also while an incident is not yet reported). */
  get current(): AnomalyEvent | null {
    const d = this.draft;
    return d !== null && d.reported ? this.build(d, null) : null;
  }

  get counts(): EventCounts {
    return { opened: this.opened, merged: this.merged, dropped: this.dropped };
  }

  /** Plain JSON from which `EventTracker.restore` rebuilds an identical tracker. */
  snapshot(): EventTrackerSnapshot {
    const d = this.draft;
    return {
      series: this.series,
      strategy: this.strategy,
      params: { ...this.params },
      state: {
        draft: d ? { ...d } : null,
        okRun: this.okRun,
        closed: this.closed,
        counts: this.counts,
      },
    };
  }

  private report(d: Draft, timeMs: number): EventChange {
    const closed = this.closed;
    this.closed = null;
    d.reported = true;
    if (d.merge && closed !== null) {
      // The incident continues the closed event: its start, id, points and (if higher) its peak.
      const before = closed.event;
      this.merged++;
      d.id = before.id;
      d.start = before.start;
      d.points += before.points;
      if (!(d.peak.score > before.peak.score)) {
        d.peak = before.peak;
        d.explanation = before.explanation;
      }
      if (before.level === 'severe' || !this.params.severe_upgrade) d.level = before.level;
      return { type: 'reopen', at: timeMs, event: this.build(d, null) };
    }
    this.opened++;
    d.id = eventId(this.series, this.strategy, d.start);
    return { type: 'open', at: timeMs, event: this.build(d, null) };
  }

  private close(timeMs: number): EventChange | null {
    const d = this.draft as Draft;
    this.draft = null;
    this.okRun = 0;
    if (!d.reported) {
      this.dropped++;
      return null;
    }
    const event = this.build(d, d.last);
    if (this.params.cooldown_ms > 0) this.closed = { event, at: timeMs };
    return { type: 'close', at: timeMs, event };
  }

  private build(d: Draft, end: number | null): AnomalyEvent {
    return Object.freeze({
      id: d.id as string,
      series: this.series,
      strategy: this.strategy,
      start: d.start,
      end,
      peak: d.peak,
      level: d.level,
      points: d.points,
      explanation: d.explanation,
    });
  }
}

/** Deterministic event id: the same series, strategy and start always give the same id. */
export function eventId(series: string, strategy: string, startMs: number): string {
  return `${series}|${strategy}|${startMs}`;
}

/** Level codes used by typed-array level columns (evaluation, storage): 0 ok, 1 alert, 2 severe. */
export const LEVELS: readonly Level[] = ['ok', 'alert', 'severe'];

/**
 * Replay a scored series through a fresh tracker and return its events in their final form
 * (the last change of each id), the one still open at the end closed at the last point.
 * `levels` holds level codes (see LEVELS); `explain(i)` explains point i.
 */
export function replayEvents(
  options: EventTrackerOptions,
  times: ArrayLike<number>,
  scores: ArrayLike<number>,
  levels: ArrayLike<number>,
  explain?: (index: number) => EventExplanation,
): AnomalyEvent[] {
  if (scores.length !== times.length || levels.length !== times.length) {
    throw new Error('replayEvents: times, scores and levels must have the same length');
  }
  const tracker = new EventTracker(options);
  const byId = new Map<string, AnomalyEvent>();
  const keep = (change: EventChange | null): void => {
    if (change) byId.set(change.event.id, change.event);
  };
  for (let i = 0; i < times.length; i++) {
    const level = LEVELS[levels[i] as number] ?? 'ok';
    keep(
      tracker.update(times[i] as number, scores[i] as number, level, explain && (() => explain(i))),
    );
  }
  if (times.length > 0) keep(tracker.flush(times[times.length - 1] as number));
  return [...byId.values()];
}

function valuesOf(explanation: EventExplanation | null): Readonly<Record<string, number>> {
  if (explanation === null || explanation.metrics.length === 0) return NO_VALUES;
  const values: Record<string, number> = {};
  for (const m of explanation.metrics) values[m.name] = m.observed;
  return values;
}

/** A plain, frozen copy: the caller's object may be reused, and events must be plain JSON. */
function freezeExplanation(e: EventExplanation | null): EventExplanation | null {
  if (e === null) return null;
  const metrics = e.metrics.map((m): MetricContribution => {
    const out: { -readonly [K in keyof MetricContribution]: MetricContribution[K] } = {
      name: m.name,
      share: m.share,
      observed: m.observed,
    };
    if (m.expected !== undefined) out.expected = m.expected;
    if (m.band !== undefined) out.band = Object.freeze([m.band[0], m.band[1]] as const);
    return Object.freeze(out);
  });
  const detectors = e.detectors.map((d) => Object.freeze({ name: d.name, score: d.score }));
  return Object.freeze({ metrics: Object.freeze(metrics), detectors: Object.freeze(detectors) });
}

function freezePeak(peak: EventPeak): EventPeak {
  return Object.freeze({ time: peak.time, score: peak.score, values: Object.freeze(peak.values) });
}

function freezeEvent(event: AnomalyEvent): AnomalyEvent {
  return Object.freeze({
    ...event,
    peak: freezePeak(event.peak),
    explanation: freezeExplanation(event.explanation),
  });
}

const finite = z.number().refine(Number.isFinite, 'must be finite');
const count = z.int().nonnegative();
const level = z.enum(['alert', 'severe']);

const explanationSchema = z.object({
  metrics: z.array(
    z.object({
      name: z.string(),
      share: finite,
      observed: finite,
      expected: finite.optional(),
      band: z.tuple([finite, finite]).optional(),
    }),
  ),
  detectors: z.array(z.object({ name: z.string(), score: finite })),
});

const peakSchema = z.object({
  time: finite,
  score: finite,
  values: z.record(z.string(), finite),
});

const eventSchema = z.object({
  id: z.string(),
  series: z.string(),
  strategy: z.string(),
  start: finite,
  end: finite.nullable(),
  peak: peakSchema,
  level,
  points: count,
  explanation: explanationSchema.nullable(),
});

const snapshotSchema = z.object({
  series: z.string(),
  strategy: z.string(),
  params: eventParamsSchema,
  state: z.object({
    draft: z
      .object({
        id: z.string().nullable(),
        reported: z.boolean(),
        start: finite,
        last: finite,
        points: count,
        peak: peakSchema,
        explanation: explanationSchema.nullable(),
        level,
        merge: z.boolean(),
      })
      .nullable(),
    okRun: count,
    closed: z.object({ event: eventSchema, at: finite }).nullable(),
    counts: z.object({ opened: count, merged: count, dropped: count }),
  }),
});

/** The tracker's plain-JSON snapshot. */
export interface EventTrackerSnapshot {
  readonly series: string;
  readonly strategy: string;
  readonly params: EventParams;
  readonly state: {
    readonly draft: Readonly<Draft> | null;
    readonly okRun: number;
    readonly closed: Closed | null;
    readonly counts: EventCounts;
  };
}
