/**
 * JSON texts of points that are mostly near valid: fields deleted, duplicated, of the wrong type,
 * numbers that JSON allows but doubles do not hold (1e400), odd strings (JSON escapes carry lone
 * surrogates and NUL through), and deep nesting.
 */
import {
  asciiName,
  chance,
  count,
  ODD_NUMBER_TEXTS,
  oddString,
  pick,
  timestampMs,
  type Rng,
} from './random.js';

/** The odd number texts JSON's grammar accepts, plus the edges of Vigil's time range. */
const JSON_NUMBERS = [
  ...ODD_NUMBER_TEXTS.filter(isJsonNumber),
  '4102444800000',
  '4102444799999',
  '-1',
  '1.5',
  '123456789012345678901234567890',
];

function isJsonNumber(text: string): boolean {
  try {
    return typeof JSON.parse(text) === 'number';
  } catch {
    return false;
  }
}

export function jsonNumber(rng: Rng): string {
  if (chance(rng, 0.7)) return String(Math.round(rng.uniform(-1000, 1000) * 1000) / 1000);
  return pick(rng, JSON_NUMBERS);
}

export function jsonString(rng: Rng): string {
  // JSON.stringify escapes lone surrogates (\udXXX) and controls, so they reach the parser.
  return JSON.stringify(oddString(rng));
}

/** Any JSON value, nested up to `depth`. */
export function jsonValue(rng: Rng, depth = 2): string {
  const r = rng.next();
  if (r < 0.3) return jsonNumber(rng);
  if (r < 0.55) return jsonString(rng);
  if (r < 0.65) return pick(rng, ['true', 'false', 'null']);
  if (r < 0.7) {
    const n = chance(rng, 0.98) ? 1 + rng.int(50) : 1000 + rng.int(5000);
    return '['.repeat(n) + ']'.repeat(n);
  }
  if (depth <= 0) return '{}';
  if (r < 0.85) {
    const items = Array.from({ length: count(rng, 3) }, () => jsonValue(rng, depth - 1));
    return `[${items.join(',')}]`;
  }
  const entries = Array.from(
    { length: count(rng, 3) },
    () => `${jsonString(rng)}:${jsonValue(rng, depth - 1)}`,
  );
  return `{${entries.join(',')}}`;
}

/** Entries written as text, so a key can appear twice. */
function object(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

function metricName(rng: Rng): string {
  return chance(rng, 0.6)
    ? pick(rng, ['temp', 'rpm', 'pressure', 'v', 'cpu.user'])
    : oddString(rng);
}

function metricsObject(rng: Rng): string {
  const n = chance(rng, 0.995) ? 1 + rng.int(4) : pick(rng, [0, 1001]);
  const entries: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const value = chance(rng, 0.92) ? jsonNumber(rng) : jsonValue(rng, 1);
    entries.push([n > 100 ? `m${i}` : metricName(rng), value]);
  }
  return object(entries);
}

function tagsObject(rng: Rng): string {
  const entries: [string, string][] = [];
  const n = count(rng, 3);
  for (let i = 0; i < n; i++) {
    const value = chance(rng, 0.93) ? jsonString(rng) : jsonValue(rng, 1);
    entries.push([chance(rng, 0.5) ? pick(rng, ['site', 'line', 'env']) : oddString(rng), value]);
  }
  return object(entries);
}

function timestampText(rng: Rng): string {
  const r = rng.next();
  if (r < 0.85) return String(timestampMs(rng));
  if (r < 0.93) return jsonNumber(rng);
  return jsonValue(rng, 1);
}

/**
 * A DataPoint as JSON (the HTTP API's shape); now and then a field is missing, twice, of another
 * type, or an unknown field is added.
 */
export function dataPointJson(rng: Rng): string {
  const entries: [string, string][] = [
    ['timestamp', timestampText(rng)],
    ['device_id', chance(rng, 0.95) ? jsonString(rng) : jsonValue(rng, 1)],
    ['metrics', chance(rng, 0.95) ? metricsObject(rng) : jsonValue(rng, 1)],
  ];
  if (chance(rng, 0.5))
    entries.push(['tags', chance(rng, 0.95) ? tagsObject(rng) : jsonValue(rng, 1)]);
  return object(mutateEntries(rng, entries));
}

/** A flat MQTT-style reading: numbers are metrics, plus device_id and a time field. */
export function flatReadingJson(rng: Rng, timestampField: string): string {
  const entries: [string, string][] = [];
  const n = 1 + count(rng, 4);
  for (let i = 0; i < n; i++) {
    const value = chance(rng, 0.85)
      ? jsonNumber(rng)
      : pick(rng, ['true', 'false', jsonValue(rng, 1)]);
    entries.push([metricName(rng), value]);
  }
  if (chance(rng, 0.6)) entries.push(['device_id', jsonString(rng)]);
  if (chance(rng, 0.6)) {
    const iso = new Date(Math.min(timestampMs(rng), 8.64e15)).toISOString();
    entries.push([timestampField, chance(rng, 0.5) ? timestampText(rng) : JSON.stringify(iso)]);
  }
  return object(mutateEntries(rng, entries));
}

function mutateEntries(rng: Rng, entries: [string, string][]): [string, string][] {
  if (!chance(rng, 0.2)) return entries;
  const out = [...entries];
  const i = rng.int(out.length);
  switch (rng.int(4)) {
    case 0:
      out.splice(i, 1);
      break;
    case 1:
      out.push([out[i]![0], chance(rng, 0.5) ? out[i]![1] : jsonValue(rng, 1)]);
      break;
    case 2:
      out[i] = [out[i]![0], jsonValue(rng, 2)];
      break;
    default:
      out.push([chance(rng, 0.5) ? asciiName(rng) : oddString(rng), jsonValue(rng, 1)]);
  }
  return out;
}

/** A JSON array of `n` elements made by `element`. */
export function jsonArray(rng: Rng, element: () => string, usual = 5): string {
  const n = count(rng, usual, 2000);
  return `[${Array.from({ length: n }, element).join(',')}]`;
}
