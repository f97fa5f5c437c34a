import { z } from 'zod';

/**
 * A strategy's `events` section: how per-point scores and levels become events, each spanning
 * its fault from the first abnormal point to the point where the data are back to normal.
 * `parse({})` gives the defaults; docs/events.md explains each rule and the defaults.
 */
export const eventParamsSchema = z.strictObject({
  /** The level a point needs to start an event. Once open, alert points keep it open either way. */
  open_level: z.enum(['alert', 'severe']).default('alert'),
  /**
   * Hysteresis on the score: once an event is open, a point still counts as abnormal (the event
   * runs on through it) when it is flagged or its score — the detector's evidence before any
   * one-alert-per-incident gate of its own — is at least this. 1/3 is half the detectors'
   * native boundary under the shared score mapping (0.5 = the boundary, s / (s + b)).
   */
  close_score: z
    .number()
    .min(0)
    .max(1)
    .default(1 / 3),
  /**
   * An event closes once this many normal points in a row have followed its last abnormal point
   * (at least 1: closing is decided on a normal point)...
   */
  close_after_points: z.int().min(1).max(1_000_000).default(5),
  /** ...and at least this long (ms, event time) has passed since that last abnormal point. */
  close_after_ms: z.int().min(0).default(0),
  /**
   * Shorter incidents are dropped: an event is only reported once it has this many flagged
   * points...
   */
  min_points: z.int().min(1).max(1_000_000).default(1),
  /** ...and spans at least this long (ms) from its first to its latest abnormal point. */
  min_duration_ms: z.int().min(0).default(0),
  /**
   * Deprecated, accepted so that older strategy files still load. Events no longer merge over a
   * wall-time cool-down: each event is one fault's span, and repeated events of a device are
   * grouped into incidents, which carry the cool-down. The value is kept (not applied to events)
   * for incident grouping to read; see `deprecatedEventKeys`.
   */
  cooldown_ms: z.int().min(0).optional(),
  /**
   * The event's level is the highest level seen (an alert becomes severe and is re-announced as
   * an `update`); off, the level stays what it was when the event was reported.
   */
  severe_upgrade: z.boolean().default(true),
});

export type EventParams = z.infer<typeof eventParamsSchema>;
/** The section as written in a strategy (every key optional). */
export type EventParamsInput = z.input<typeof eventParamsSchema>;

export const DEFAULT_EVENT_PARAMS: Readonly<EventParams> = Object.freeze(
  eventParamsSchema.parse({}),
);

/** Keys of an `events` section that are accepted but no longer change events, with why. */
export function deprecatedEventKeys(params: Readonly<EventParams>): string[] {
  return params.cooldown_ms === undefined
    ? []
    : [
        'events.cooldown_ms is deprecated and ignored by events (each event now spans one fault; ' +
          'repeated events of a device are grouped into incidents, which carry the cool-down)',
      ];
}
