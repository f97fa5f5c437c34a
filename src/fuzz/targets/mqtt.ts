/**
 * MQTT messages: a topic matched against a pattern with named wildcards (captures become the
 * device and tags) and a payload in the json, compact or auto format, turned into points the way
 * subscriber.ts does. Invariant: every numeric key of a JSON reading reaches its metrics.
 */
import { parsePayload, type PayloadFormat } from '../../ingest/mqtt/payload.js';
import { compileTopicPattern } from '../../ingest/mqtt/topic-pattern.js';
import type { IngestPoint } from '../../engine/engine.js';
import { flatReadingJson, dataPointJson, jsonArray, jsonNumber, jsonValue } from '../json-gen.js';
import { finish } from '../mutate.js';
import {
  asciiName,
  chance,
  count,
  numberText,
  oddString,
  pick,
  timestampMs,
  type Rng,
} from '../random.js';
import type { Outcome, Target } from '../target.js';

const PATTERNS = [
  compileTopicPattern('plants/+plant/devices/+device/telemetry'),
  compileTopicPattern('sensors/+device/#rest'),
  compileTopicPattern('fleet/#'),
];
const FORMATS: readonly PayloadFormat[] = ['json', 'compact', 'auto'];
const TIMESTAMP_FIELD = 'ts';
const RECEIVED_MS = 1_700_000_000_000;

function level(rng: Rng): string {
  return chance(rng, 0.6) ? asciiName(rng) : oddString(rng);
}

function topic(rng: Rng): string {
  const r = rng.next();
  if (r < 0.45) return `plants/${level(rng)}/devices/${level(rng)}/telemetry`;
  if (r < 0.8)
    return `sensors/${level(rng)}/${Array.from({ length: rng.int(4) }, () => level(rng)).join('/')}`;
  if (r < 0.95) return `fleet/${level(rng)}`;
  return oddString(rng);
}

function compactLine(rng: Rng): string {
  const pairs = Array.from({ length: 1 + count(rng, 3) }, () => {
    const name = chance(rng, 0.7) ? asciiName(rng) : oddString(rng);
    return chance(rng, 0.95) ? `${name}=${numberText(rng)}` : name;
  });
  const at = chance(rng, 0.5)
    ? `@${pick(rng, [String(Math.trunc(timestampMs(rng))), '-1', '1.5', '', 'x', '99999999999999999999'])}`
    : '';
  return pairs.join(',') + at;
}

function payload(rng: Rng): string {
  const r = rng.next();
  if (r < 0.35) return flatReadingJson(rng, TIMESTAMP_FIELD);
  if (r < 0.5) return dataPointJson(rng);
  if (r < 0.6) return jsonArray(rng, () => flatReadingJson(rng, TIMESTAMP_FIELD), 4);
  if (r < 0.9)
    return Array.from({ length: 1 + count(rng, 3, 1200) }, () => compactLine(rng)).join('\n');
  return chance(rng, 0.5) ? jsonNumber(rng) : jsonValue(rng, 2);
}

/** Topic and format in a header line, the payload after it: the case is its bytes alone. */
function encode(format: PayloadFormat, topicText: string, body: string): Buffer {
  return Buffer.from(`${format}\u0000${topicText}\u0000${body}`);
}

function decode(input: Buffer): { format: PayloadFormat; topic: string; payload: Buffer } {
  const a = input.indexOf(0);
  const b = a === -1 ? -1 : input.indexOf(0, a + 1);
  if (a === -1 || b === -1) return { format: 'auto', topic: 'fleet/x', payload: input };
  const format = input.subarray(0, a).toString();
  return {
    format: (FORMATS as readonly string[]).includes(format) ? (format as PayloadFormat) : 'auto',
    topic: input.subarray(a + 1, b).toString('utf8'),
    payload: input.subarray(b + 1),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Metric keys a JSON reading holds (the parser's own rules), to check none is lost. */
function expectedMetrics(item: unknown): number {
  if (!isRecord(item)) return 0;
  if (isRecord(item['metrics'])) return Object.keys(item['metrics']).length;
  return Object.entries(item).filter(
    ([k, v]) =>
      k !== TIMESTAMP_FIELD &&
      !(k === 'device_id' && typeof v === 'string') &&
      (typeof v === 'number' || typeof v === 'boolean'),
  ).length;
}

export const mqtt: Target = {
  name: 'mqtt',
  parser: 'src/ingest/mqtt/payload.ts + topic-pattern.ts',
  generate(rng: Rng): Buffer {
    const format = pick(rng, FORMATS);
    const topicText = topic(rng);
    // Only the payload is mutated: the header is the test's framing, not input.
    const body = finish(rng, () => Buffer.from(payload(rng)));
    return Buffer.concat([encode(format, topicText, ''), body]);
  },
  run(input: Buffer): Outcome {
    const message = decode(input);
    let captures: Record<string, string> | undefined;
    for (const p of PATTERNS) {
      captures = p.match(message.topic);
      if (captures !== undefined) break;
    }
    if (captures === undefined) return { points: [], refused: 1 };
    const readings = parsePayload(message.payload, message.format, TIMESTAMP_FIELD);
    if (typeof readings === 'string') return { points: [], refused: 1 };
    // As subscriber.ts: the `device` capture is the device, the other captures are tags.
    const { device: topicDevice, ...topicTags } = captures;
    const points: IngestPoint[] = [];
    for (const r of readings) {
      const device = topicDevice ?? r.device_id;
      if (device === undefined) return { points: [], refused: 1 };
      const tags = { ...r.tags, ...topicTags };
      points.push({
        timestamp: r.timestamp ?? RECEIVED_MS,
        device_id: device,
        metrics: r.metrics,
        ...(Object.keys(tags).length > 0 ? { tags } : {}),
      });
    }
    let broken: string | undefined;
    const text = message.payload.toString('utf8').trim();
    if (message.format !== 'compact' && (text[0] === '{' || text[0] === '[')) {
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch {
        document = undefined;
      }
      const items = Array.isArray(document) ? document : [document];
      readings.forEach((r, i) => {
        const want = expectedMetrics(items[i]);
        const got = Object.keys(r.metrics).length;
        if (broken === undefined && document !== undefined && want !== got) {
          broken = `reading ${i}: ${want} metric keys in the JSON, ${got} metrics read`;
        }
      });
    }
    return { points, refused: 0, ...(broken === undefined ? {} : { broken }) };
  },
};
