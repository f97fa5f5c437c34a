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
  /**
   * The device, when `series` is a device key (vector strategies); otherwise the part of the
   * series key before its last `/` (the whole key when it has none).
   */
  readonly device?: string;
  /** `name@version` of the strategy. */
  readonly strategy: string;
  /** Validated `events` params (`eventParamsSchema.parse(...)`). */
  readonly params: EventParams;
}

/** How many events the tracker has raised and dropped since it was created. */
export interface EventCounts {
  /** Events reported (`open`). */
  readonly opened: number;
  /** Always 0: events no longer merge over a cool-down (kept for older snapshots and readers). */
  readonly merged: number;
  /** Incidents that ended before reaching the minimum duration: never reported. */
  readonly dropped: number;
}

/** The span being built, as a caller that maps points to events needs to see it. */
export interface OpenSpan {
  /** Event time of its first point (a flagged one). */
  readonly start: number;
  /** Reported (`open` was raised): it will be an event, whatever comes next. */
  readonly reported: boolean;
  /** Its id once reported, else null. */
  readonly id: string | null;
  /** Normal points since its last abnormal point: 0 when the latest point was abnormal. */
  readonly normalRun: number;
}

/** The event being built: not yet reported (`reported` false) or open. */
interface Draft {
  /** Known once reported. */
  id: string | null;
  reported: boolean;
  start: number;
  /** Latest event time of an abnormal point (flagged, or at least `close_score`). */
  last: number;
  /** Event time of the first point of the current normal run; null while none. */
  normalSince: number | null;
  points: number;
  peak: EventPeak;
  explanation: EventExplanation | null;
  /** Metrics with a share of at least `INVOLVED_SHARE` in any of the peak's explanations. */
  metrics: string[];
  level: EventLevel;
}

const NO_VALUES: Readonly<Record<string, number>> = Object.freeze({});
/** A metric is involved in an event when it has at least this share of an explanation. */
const INVOLVED_SHARE = 0.1;

/**
 * Turns one series' per-point scores and levels into events that span the fault: an event opens
 * at a flagged point, runs on while points are abnormal (flagged, or scoring at least
 * `close_score`: hysteresis on the score), and closes once the data have been normal for
 * `close_after_points` points (and `close_after_ms`); it ends where the data were back to normal.
 * Minimum duration and severe upgrade as in docs/events.md; event time only, so the same input
 * always gives the same events and ids.
 *
 * Feed every point in order to `update`; it returns the change the point caused, or null (most
 * points). A normal point while nothing is open costs one comparison. The explanation is computed
 * only when a point becomes the peak of the event being built, by calling `explain` right there:
 * the closure runs synchronously inside `update`, so it sees the detector as it was for this
 * point if `update` is called before the detector learns the point (or use `wantsExplanation`
 * to compute it ahead).
 */
export class EventTracker {
  readonly series: string;
  readonly device: string;
  readonly strategy: string;
  readonly params: Readonly<EventParams>;
  private draft: Draft | null = null;
  /** Normal points in a row since the draft's last abnormal point. */
  private okRun = 0;
  private opened = 0;
  private dropped = 0;

  /** Frozen `params` are kept by reference, so that series can share one object. */
  constructor(options: EventTrackerOptions) {
    this.series = options.series;
    this.device = options.device ?? deviceOf(options.series);
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
    const { series, device, strategy, params, state } = parsed.data;
    const tracker = new EventTracker({
      series,
      ...(device === undefined ? {} : { device }),
      // One string and one params object for all the series of a strategy.
      strategy: sharedParams('events-strategy', { strategy }).strategy,
      params: sharedParams('events', params),
    });
    const d = state.draft;
    tracker.draft =
      d === null
        ? null
        : {
            id: d.id,
            reported: d.reported,
            start: d.start,
            last: d.last,
            // Older snapshots did not keep it: their normal run ends the span at its last point.
            normalSince: d.normalSince ?? (state.okRun > 0 ? d.last : null),
            points: d.points,
            peak: freezePeak(d.peak),
            explanation: freezeExplanation(d.explanation),
            metrics: [...(d.metrics ?? namesOf(d.explanation))],
            level: d.level,
          };
    tracker.okRun = state.okRun;
    tracker.opened = state.counts.opened;
    tracker.dropped = state.counts.dropped;
    return tracker;
  }

  /**
   * One point, in event-time order: its time, score and level from the strategy's threshold.
   * `explain` is called (at most once) only if the point becomes the peak of the event being
   * built. `evidence` is what the hysteresis judges for an unflagged point (default: `score`):
   * a detector that gates its own alerts (one per incident) passes its evidence before the gate,
   * so an event runs as long as the data are abnormal, not only while they are alerted.
   */
  update(
    timeMs: number,
    score: number,
    level: Level,
    explain?: () => EventExplanation,
    evidence: number = score,
  ): EventChange | null {
    let d = this.draft;
    if (level === 'ok') {
      if (d === null) return null;
      if (evidence >= this.params.close_score) {
        // Not flagged, but not back to normal either: the span runs on through this point.
        this.okRun = 0;
        d.normalSince = null;
        if (timeMs > d.last) d.last = timeMs;
        return d.reported ? null : this.qualify(d, timeMs);
      }
      this.okRun++;
      if (d.normalSince === null) d.normalSince = timeMs;
      if (this.okRun < this.params.close_after_points) return null;
      // Time going backwards counts as none elapsed (so it never blocks a close_after_ms of 0).
      const elapsed = timeMs > d.last ? timeMs - d.last : 0;
      if (elapsed < this.params.close_after_ms) return null;
      return this.close(timeMs, d.normalSince);
    }
    const s = Number.isFinite(score) ? score : 0;
    if (d === null) {
      if (level !== 'severe' && this.params.open_level === 'severe') return null;
      d = this.draft = {
        id: null,
        reported: false,
        start: timeMs,
        last: timeMs,
        normalSince: null,
        points: 0,
        peak: { time: timeMs, score: -1, values: NO_VALUES },
        explanation: null,
        metrics: [],
        level,
      };
    }
    this.okRun = 0;
    d.normalSince = null;
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
      for (const name of namesOf(explanation)) if (!d.metrics.includes(name)) d.metrics.push(name);
      changed = true;
    }
    if (!d.reported) return this.qualify(d, timeMs);
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
   * End of stream (or of a replay): close the open event without waiting for the hysteresis; an
   * incident not yet reported is dropped. It ends where the data were back to normal if they
   * were, else at its last point. Returns the `close`, if any.
   */
  flush(timeMs: number): EventChange | null {
    const d = this.draft;
    return d === null ? null : this.close(timeMs, d.normalSince ?? d.last);
  }

  /** The open event as it stands, or null (also while an incident is not yet reported). */
  get current(): AnomalyEvent | null {
    const d = this.draft;
    return d !== null && d.reported ? this.build(d, null) : null;
  }

  /** The span being built (reported or not), or null: for mapping points to events. */
  get span(): OpenSpan | null {
    const d = this.draft;
    return d === null
      ? null
      : { start: d.start, reported: d.reported, id: d.id, normalRun: this.okRun };
  }

  get counts(): EventCounts {
    return { opened: this.opened, merged: 0, dropped: this.dropped };
  }

  /** Plain JSON from which `EventTracker.restore` rebuilds an identical tracker. */
  snapshot(): EventTrackerSnapshot {
    const d = this.draft;
    return {
      series: this.series,
      device: this.device,
      strategy: this.strategy,
      params: { ...this.params },
      state: {
        draft: d ? { ...d, metrics: [...d.metrics] } : null,
        okRun: this.okRun,
        counts: this.counts,
      },
    };
  }

  /** Report the draft once it has enough flagged points and spans long enough. */
  private qualify(d: Draft, timeMs: number): EventChange | null {
    if (d.points < this.params.min_points) return null;
    if (d.last - d.start < this.params.min_duration_ms) return null;
    d.reported = true;
    this.opened++;
    d.id = eventId(this.series, this.strategy, d.start);
    return { type: 'open', at: timeMs, event: this.build(d, null) };
  }

  private close(timeMs: number, end: number): EventChange | null {
    const d = this.draft as Draft;
    this.draft = null;
    this.okRun = 0;
    if (!d.reported) {
      this.dropped++;
      return null;
    }
    return { type: 'close', at: timeMs, event: this.build(d, end) };
  }

  private build(d: Draft, end: number | null): AnomalyEvent {
    return Object.freeze({
      id: d.id as string,
      series: this.series,
      device: this.device,
      metrics: Object.freeze(d.metrics.length > 0 ? [...d.metrics] : this.ownMetric()),
      strategy: this.strategy,
      start: d.start,
      end,
      peak: d.peak,
      level: d.level,
      points: d.points,
      explanation: d.explanation,
    });
  }

  /** A series' own metric (`device/metric`), when the event has no explanation to name one. */
  private ownMetric(): string[] {
    return this.series.length > this.device.length && this.series.startsWith(this.device + '/')
      ? [this.series.slice(this.device.length + 1)]
      : [];
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
 * (the last change of each id), the one still open at the end flushed (see `flush`). The
 * hysteresis judges the scores themselves: a detector's evidence before its own alert gate is
 * not known here (pipelines pass it live). `levels` holds level codes (see LEVELS); `explain(i)`
 * explains point i.
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

/** The device part of a `device/metric` series key (the whole key when it has no `/`). */
export function deviceOf(series: string): string {
  const slash = series.lastIndexOf('/');
  return slash < 0 ? series : series.slice(0, slash);
}

function namesOf(explanation: EventExplanation | null): string[] {
  if (explanation === null) return [];
  return explanation.metrics.filter((m) => m.share >= INVOLVED_SHARE).map((m) => m.name);
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

const snapshotSchema = z.object({
  series: z.string(),
  /** Absent in older snapshots (then derived from `series`). */
  device: z.string().optional(),
  strategy: z.string(),
  params: eventParamsSchema,
  state: z.object({
    draft: z
      .object({
        id: z.string().nullable(),
        reported: z.boolean(),
        start: finite,
        last: finite,
        normalSince: finite.nullable().optional(),
        points: count,
        peak: peakSchema,
        explanation: explanationSchema.nullable(),
        metrics: z.array(z.string()).optional(),
        level,
      })
      .nullable(),
    okRun: count,
    // Older snapshots carry `closed` (the last event, for cool-down merging) and counts.merged:
    // both are read and let go.
    counts: z.object({ opened: count, merged: count, dropped: count }),
  }),
});

/** The tracker's plain-JSON snapshot. */
export interface EventTrackerSnapshot {
  readonly series: string;
  readonly device: string;
  readonly strategy: string;
  readonly params: EventParams;
  readonly state: {
    readonly draft: Readonly<Draft> | null;
    readonly okRun: number;
    readonly counts: EventCounts;
  };
}
