/**
 * Webhook signatures. The sender signs `<timestamp>.<raw body>` with HMAC-SHA256 under the
 * sink's shared secret and sends
 *   X-Vigil-Timestamp: <unix seconds>
 *   X-Vigil-Signature: sha256=<hex>
 * The timestamp is inside the signed text, so it cannot be changed without breaking the
 * signature; receivers reject old timestamps to stop replays (docs/alerts.md has a receiver).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-vigil-signature';
export const TIMESTAMP_HEADER = 'x-vigil-timestamp';
export const DELIVERY_HEADER = 'x-vigil-delivery';

export function sign(secret: string, timestampS: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex');
  return `sha256=${mac}`;
}

export interface VerifyOptions {
  /** Oldest (and furthest in the future) timestamp accepted, s; default 300. */
  readonly toleranceS?: number;
  /** Now, in unix seconds; default the wall clock. */
  readonly nowS?: number;
}

/** Check a delivery as a receiver would: signature over timestamp and body, timestamp fresh. */
export function verify(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string | Buffer,
  options: VerifyOptions = {},
): { ok: true } | { ok: false; reason: string } {
  const { signature, timestamp } = headers;
  if (signature === undefined || timestamp === undefined) {
    return { ok: false, reason: 'signature or timestamp header missing' };
  }
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'timestamp is not unix seconds' };
  const ts = Number(timestamp);
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (options.toleranceS ?? 300)) {
    return { ok: false, reason: 'timestamp outside the tolerance (replayed or clock skew)' };
  }
  const expected = Buffer.from(sign(secret, ts, body.toString()));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'signature does not match' };
  }
  return { ok: true };
}
