/**
 * The per-round comparison of each protocol's acknowledged prefix with the store, device by
 * device, from the slot already verified (so a round reads only what is new), or from the start
 * for the final check.
 */
import { checkDevice, slotTime } from './compare.js';
import {
  ackedOnDevice,
  deviceOf,
  metricOf,
  DEVICES_PER_PROTOCOL,
  type Protocol,
} from './points.js';
import { rawPoints } from './store-reader.js';

const FAR = Date.UTC(2100, 0, 1);

export interface ProtocolCheck {
  readonly acked: number;
  readonly stored: number;
  readonly missing: number;
  readonly extra: number;
  readonly duplicates: number;
}

export class Checker {
  private readonly verified = new Map<string, number>();

  constructor(private readonly run: string) {}

  /** `ackedPoints` of `protocol` against the store at `baseUrl`; `fromStart` rereads everything. */
  async check(
    baseUrl: string,
    protocol: Protocol,
    ackedPoints: number,
    fromStart = false,
  ): Promise<ProtocolCheck> {
    let stored = 0;
    let missing = 0;
    let extra = 0;
    let duplicates = 0;
    for (let d = 0; d < DEVICES_PER_PROTOCOL; d++) {
      const device = deviceOf(this.run, protocol, d);
      const from = fromStart ? 0 : (this.verified.get(device) ?? 0);
      const acked = ackedOnDevice(ackedPoints, d);
      const raw = await rawPoints(baseUrl, device, metricOf(protocol), slotTime(from), FAR);
      const r = checkDevice(from, acked, raw.times, raw.values, (slot) => {
        return slot * DEVICES_PER_PROTOCOL + d + 0.25;
      });
      this.verified.set(device, r.verifiedThrough);
      stored += from + r.stored;
      missing += r.missing + r.wrongValue;
      extra += r.extra;
      duplicates += r.duplicates;
    }
    return { acked: ackedPoints, stored, missing, extra, duplicates };
  }
}
