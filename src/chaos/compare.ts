/**
 * Acked against stored, for one device: the acknowledged points of a device are the slots
 * `[0, acked)` (times `BASE_TIME + slot × STEP_MS`); the store must hold each of them with its
 * value, and nothing beyond them. Checked from a slot already verified on (stores never delete).
 */
import { BASE_TIME, STEP_MS } from './points.js';

export interface DeviceCheck {
  /** Acked slots found stored with the right value (from `fromSlot`). */
  readonly stored: number;
  /** Acked slots not stored. */
  readonly missing: number;
  /** Acked slots stored with another value. */
  readonly wrongValue: number;
  /** Stored points that were never acknowledged (beyond the acked prefix, or off the grid). */
  readonly extra: number;
  /** Stored more than once (the raw answer repeats a time). */
  readonly duplicates: number;
  /** The first slot not verified (so the next check can start there). */
  readonly verifiedThrough: number;
}

export const slotTime = (slot: number): number => BASE_TIME + slot * STEP_MS;

/**
 * `times`/`values`: the stored points of the device at or after `slotTime(fromSlot)`, oldest
 * first; `valueOf(slot)` the value sent for that slot.
 */
export function checkDevice(
  fromSlot: number,
  acked: number,
  times: readonly number[],
  values: readonly (number | null)[],
  valueOf: (slot: number) => number,
): DeviceCheck {
  const seen = new Map<number, number | null>();
  let extra = 0;
  let duplicates = 0;
  times.forEach((t, i) => {
    const offset = t - BASE_TIME;
    const slot = offset / STEP_MS;
    if (!Number.isInteger(slot) || slot < fromSlot || slot >= acked) {
      extra++;
      return;
    }
    if (seen.has(slot)) duplicates++;
    else seen.set(slot, values[i] ?? null);
  });
  let stored = 0;
  let missing = 0;
  let wrongValue = 0;
  let firstGap: number | null = null;
  for (let slot = fromSlot; slot < acked; slot++) {
    if (!seen.has(slot)) {
      missing++;
      firstGap ??= slot;
    } else if (seen.get(slot) !== valueOf(slot)) {
      wrongValue++;
      firstGap ??= slot;
    } else stored++;
  }
  return {
    stored,
    missing,
    wrongValue,
    extra,
    duplicates,
    verifiedThrough: firstGap ?? Math.max(fromSlot, acked),
  };
}
