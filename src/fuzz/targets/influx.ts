/**
 * InfluxDB line protocol bodies: measurements, tags and fields with escaped commas, spaces,
 * equals signs and quotes, every field type (1.5, 1i, 1u, t, "string") and their edge values,
 * timestamps in every precision, comments, CRLF and blank lines. Parsed and mapped as routes.ts
 * does. Invariant: every numeric field and every tag of a record reaches its point.
 */
import {
  parseLineProtocol,
  V1_PRECISIONS,
  type LineRecord,
} from '../../ingest/influx/line-protocol.js';
import { defaultInfluxMapping, recordsToPoints } from '../../ingest/influx/to-points.js';
import { finish } from '../mutate.js';
import { chance, count, numberText, oddString, pick, timestampMs, type Rng } from '../random.js';
import type { Outcome, Target } from '../target.js';

/** Escape what the grammar needs escaped in a measurement, tag or field key. */
function escape(text: string, rng: Rng): string {
  // Now and then leave it unescaped, so the parser meets bare separators.
  if (chance(rng, 0.1)) return text;
  return text.replace(/[\\,= ]/g, (c) => `\\${c}`);
}

function name(rng: Rng, common: readonly string[]): string {
  return escape(chance(rng, 0.6) ? pick(rng, common) : oddString(rng), rng);
}

function fieldValue(rng: Rng): string {
  const r = rng.next();
  if (r < 0.45) return numberText(rng);
  if (r < 0.6)
    return `${pick(rng, ['0', '-1', '42', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '1.5', ''])}i`;
  if (r < 0.7)
    return `${pick(rng, ['0', '42', '18446744073709551615', '18446744073709551616', '-1'])}u`;
  if (r < 0.8)
    return pick(rng, ['t', 'T', 'true', 'True', 'TRUE', 'f', 'false', 'FALSE', 'tRuE', 'yes']);
  const text = oddString(rng).replace(/["\\]/g, (c) => (chance(rng, 0.9) ? `\\${c}` : c));
  return `"${text}"`;
}

function timestamp(rng: Rng): string {
  const r = rng.next();
  if (r < 0.7) return `${Math.trunc(timestampMs(rng))}${pick(rng, ['', '000', '000000'])}`;
  return pick(rng, [
    '-1',
    '0',
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775809',
    '1.5',
    '1e9',
    'abc',
    '',
  ]);
}

function line(rng: Rng): string {
  const r = rng.next();
  if (r < 0.03) return `# ${oddString(rng)}`;
  if (r < 0.05) return '';
  let text = name(rng, ['cpu', 'mem', 'pump', 'weather']);
  const tags = count(rng, 3);
  for (let i = 0; i < tags; i++) {
    text += `,${name(rng, ['host', 'region', 'line', 'host'])}=${name(rng, ['a', 'server01', 'eu-west'])}`;
  }
  text += pick(rng, [' ', ' ', ' ', '\t', '  ']);
  const fields = chance(rng, 0.99) ? 1 + count(rng, 3) : 1001;
  const parts: string[] = [];
  for (let i = 0; i < fields; i++) {
    parts.push(
      `${fields > 100 ? `f${i}` : name(rng, ['value', 'usage', 'temp', 'value'])}=${fieldValue(rng)}`,
    );
  }
  text += parts.join(',');
  if (chance(rng, 0.7)) text += ` ${timestamp(rng)}`;
  if (chance(rng, 0.05)) text += pick(rng, [' ', '\t', ' trailing']);
  return text;
}

/** Numeric fields (distinct keys) and non-device tags (distinct keys) of a record. */
function expected(r: LineRecord): { metrics: number; tags: number } {
  const numeric = new Set(r.fields.filter(([, v]) => v.kind !== 'string').map(([k]) => k));
  const tags = new Set(r.tags.map(([k]) => k).filter((k) => k !== defaultInfluxMapping.deviceTag));
  return { metrics: numeric.size, tags: tags.size };
}

export const influx: Target = {
  name: 'influx',
  parser: 'src/ingest/influx/line-protocol.ts + to-points.ts',
  generate(rng: Rng): Buffer {
    // The precision rides in the first byte, so the case is its bytes alone.
    const precision = rng.int(V1_PRECISIONS.length);
    const body = finish(rng, () => {
      const lines = Array.from({ length: 1 + count(rng, 4, 300) }, () => line(rng));
      return Buffer.from(lines.join(pick(rng, ['\n', '\n', '\r\n'])));
    });
    return Buffer.concat([Buffer.from([precision]), body]);
  },
  run(input: Buffer): Outcome {
    const precision = V1_PRECISIONS[(input[0] ?? 0) % V1_PRECISIONS.length]!;
    const parsed = parseLineProtocol(input.subarray(1).toString('utf8'));
    const mapped = recordsToPoints(parsed.records, {
      mapping: defaultInfluxMapping,
      precision,
      receivedMs: 1_700_000_000_000,
    });
    let broken: string | undefined;
    const withNumbers = parsed.records.filter((r) => expected(r).metrics > 0);
    withNumbers.forEach((record, i) => {
      const point = mapped.points[i];
      const want = expected(record);
      const got = {
        metrics: Object.keys(point?.metrics ?? {}).length,
        tags: Object.keys(point?.tags ?? {}).length,
      };
      if (broken === undefined && (want.metrics !== got.metrics || want.tags !== got.tags)) {
        broken = `line ${record.line}: ${want.metrics} numeric fields and ${want.tags} tags read, the point has ${got.metrics} metrics and ${got.tags} tags`;
      }
    });
    return {
      points: mapped.points,
      refused: parsed.errors.length + mapped.errors.length,
      ...(broken === undefined ? {} : { broken }),
    };
  },
};
