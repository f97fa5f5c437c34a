/** Query-string values of the read API: times (ISO 8601 or ms) and durations (`5m`, `1h`, ms). */
import { quoteInput } from '../data/quote.js';
import { VigilError } from '../errors.js';

/** ms since the epoch from `1732600000000` or an ISO 8601 date/time. */
export function parseTime(name: string, text: string): number {
  if (/^-?\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${name}: expected ms since the epoch or an ISO 8601 time, found ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A positive duration: `250` (ms), `30s`, `5m`, `1h`, `1d`. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1) : NaN;
  if (!(ms > 0) || !Number.isSafeInteger(ms)) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${name}: expected a positive duration like 500, 30s, 5m, 1h or 1d, found ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

export function parseLimit(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${name}: expected a whole number from 1 to ${max}, found ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/** `tag=key:value` (split at the first colon). @throws VIGIL_ERR_INPUT */
export function parseTag(text: string | undefined): { tag?: { key: string; value: string } } {
  if (text === undefined) return {};
  const at = text.indexOf(':');
  if (at <= 0) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `tag: expected key:value (e.g. site:plant-1), got ${quoteInput(text)}`,
    );
  }
  return { tag: { key: text.slice(0, at), value: text.slice(at + 1) } };
}
