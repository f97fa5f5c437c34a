import { z } from 'zod';

/**
 * A strategy's `events` section: how per-point levels become events. `parse({})` gives the
 * defaults; docs/events.md explains each rule and why the defaults are what they are.
 */
export const eventParamsSchema = z.strictObject({
  /** The level a point needs to start an event. Once open, alert points keep it open either way. */
  open_level: z.enum(['alert', 'severe']).default('alert'),
  /**
   * Hysteresis: an event closes at an ok point once this many ok points in a row have followed
   * its last flagged point (at least 1: closing is decided on an ok point)...
   */
  close_after_points: z.int().min(1).max(1_000_000).default(5),
  /** ...and at least this long (ms, event time) has passed since that last flagged point. */
  close_after_ms: z.int().min(0).default(0),
  /**
   * Shorter incidents are dropped: an event is only reported once it has this many flagged
   * points...
   */
  min_points: z.int().min(1).max(1_000_000).default(1),
  /** ...and spans at least this long (ms) from its first to its latest flagged point. */
  min_duration_ms: z.int().min(0).default(0),
  /**
   * After an event closes, an incident starting within this long (ms) continues the same event
   * (`reopen`) instead of raising a new one. 0 turns merging off. In time, not points: how soon
   * a re-alert still means the same incident is a question about people, not sampling rates.
   */
  cooldown_ms: z.int().min(0).default(3_600_000),
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
