/**
 * A remote-write v1 body → the decoded `prometheus.WriteRequest`: snappy block format (the
 * `snappy` package), then protobuf (protobufjs with proto/prometheus/remote.proto). Sizes are
 * checked before any work that could allocate them: the compressed body by the route's body
 * limit, the decompressed size from the snappy preamble before decompressing, and series,
 * labels, label bytes and samples while the protobuf is walked (not after materialising it).
 * Every failure is a VigilError whose message says what was wrong and which limit was crossed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { uncompress } from 'snappy';
import { VigilError } from '../../errors.js';
import { invalidUtf8At, notUtf8 } from '../utf8.js';

export interface FullDecodeLimits {
  /** Largest decompressed protobuf, bytes. */
  readonly maxDecompressedBytes: number;
  /** Most samples in one request, over all series. */
  readonly maxSamples: number;
  /** Most series in one request. */
  readonly maxSeries: number;
  /** Most labels in one series. */
  readonly maxLabelsPerSeries: number;
  /** Most labels in one request, over all series. */
  readonly maxLabelsPerRequest: number;
  /** Longest label name or value, UTF-8 bytes. */
  readonly maxLabelBytes: number;
}

/** Only the byte and sample limits are required; the others default as below. */
export type DecodeLimits = Pick<FullDecodeLimits, 'maxDecompressedBytes' | 'maxSamples'> &
  Partial<FullDecodeLimits>;

/**
 * Sized so that the worst body within them decodes in tens of milliseconds on two cores
 * (docs/integrations-prometheus.md, "Limits"); Prometheus' own batches are far smaller.
 */
export const defaultDecodeLimits: FullDecodeLimits = {
  maxDecompressedBytes: 32 * 1024 * 1024,
  maxSamples: 100_000,
  maxSeries: 50_000,
  maxLabelsPerSeries: 128,
  maxLabelsPerRequest: 250_000,
  maxLabelBytes: 4096,
};

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Sample {
  readonly value: number;
  /** ms since the epoch. */
  readonly timestamp: number;
}

export interface TimeSeries {
  readonly labels: readonly Label[];
  readonly samples: readonly Sample[];
}

/** Prometheus' metric types, by their number in MetricMetadata.type. */
export const METRIC_TYPES = [
  'UNKNOWN',
  'COUNTER',
  'GAUGE',
  'HISTOGRAM',
  'GAUGEHISTOGRAM',
  'SUMMARY',
  'INFO',
  'STATESET',
] as const;

export type MetricType = (typeof METRIC_TYPES)[number];

/** One metric family's metadata (`# TYPE`, `# HELP`, `# UNIT` of the scrape). */
export interface MetricMetadata {
  readonly type: MetricType;
  readonly metricFamilyName: string;
  /** Empty when not sent, or when longer than max_label_bytes (skipped, not an error). */
  readonly help: string;
  /** Empty unless the target declared one (OpenMetrics `# UNIT`). */
  readonly unit: string;
}

export interface WriteRequest {
  readonly timeseries: readonly TimeSeries[];
  /** Absent or empty unless Prometheus sends metadata (`metadata_config.send`). */
  readonly metadata?: readonly MetricMetadata[];
}

/** `proto/` at the repository root; the same three levels up from src/ and dist/. */
const PROTO_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'proto',
  'prometheus',
  'remote.proto',
);

let writeRequestType: protobuf.Type | undefined;

function writeRequest(): protobuf.Type {
  writeRequestType ??= protobuf.loadSync(PROTO_FILE).lookupType('prometheus.WriteRequest');
  return writeRequestType;
}

/** protobufjs gives int64 as a Long object (when `long` is installed) or a number. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'toNumber' in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value);
}

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The decompressed length the snappy block declares in its preamble (a varint). */
export function declaredLength(body: Uint8Array): number {
  try {
    return protobuf.Reader.create(body).uint32() >>> 0;
  } catch (err) {
    throw new VigilError('VIGIL_ERR_INPUT', `body is not snappy block data: ${why(err)}`);
  }
}

export async function decompress(body: Uint8Array, limits: DecodeLimits): Promise<Buffer> {
  if (body.length === 0) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      'empty body: expected a snappy-compressed WriteRequest',
    );
  }
  const declared = declaredLength(body);
  if (declared > limits.maxDecompressedBytes) {
    throw new VigilError(
      'VIGIL_ERR_PAYLOAD_TOO_LARGE',
      `snappy body declares ${declared} decompressed bytes, the limit is ${limits.maxDecompressedBytes} (remote_write.max_decompressed_bytes): lower queue_config.max_samples_per_send`,
    );
  }
  try {
    return (await uncompress(body, { asBuffer: true })) as Buffer;
  } catch (err) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `body is not valid snappy block data (Content-Encoding: snappy, block format, not framed): ${why(err)}`,
    );
  }
}

/** Stops the walk: what was crossed, and the limit by its value and its config key. */
function overLimit(what: string, key: string, limit: number): VigilError {
  return new VigilError(
    'VIGIL_ERR_PAYLOAD_TOO_LARGE',
    `${what}, the limit is ${limit} (remote_write.${key}): lower queue_config.max_samples_per_send or drop labels with write_relabel_configs`,
  );
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;

/** Where a length-delimited field ends; the reader is past its length prefix. */
function fieldEnd(reader: protobuf.Reader): number {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len)
    throw new RangeError(`field of ${length} bytes past the end of the message`);
  return end;
}

/** Running totals for one request, checked as each element is read. */
interface Counts {
  samples: number;
  labels: number;
}

function readString(reader: protobuf.Reader, limits: FullDecodeLimits, part: string): string {
  const length = reader.uint32();
  if (length > limits.maxLabelBytes) {
    throw overLimit(`a label ${part} of ${length} bytes`, 'max_label_bytes', limits.maxLabelBytes);
  }
  const end = reader.pos + length;
  if (end > reader.len) throw new RangeError(`label ${part} past the end of the message`);
  // Protobuf strings are UTF-8; a bad byte is refused, never replaced (src/ingest/utf8.ts).
  const at = invalidUtf8At(reader.buf, reader.pos, end);
  if (at !== -1) throw notUtf8(`a label ${part} (at byte ${reader.pos} of the message)`, at);
  const text = protobuf.util.utf8.read(reader.buf, reader.pos, end);
  reader.pos = end;
  return text;
}

function readLabel(reader: protobuf.Reader, end: number, limits: FullDecodeLimits): Label {
  let name = '';
  let value = '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) name = readString(reader, limits, 'name');
    else if (tag === ((2 << 3) | WIRE_BYTES)) value = readString(reader, limits, 'value');
    else reader.skipType(tag & 7);
  }
  return { name, value };
}

function readSample(reader: protobuf.Reader, end: number): Sample {
  let value = 0;
  let timestamp = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | WIRE_FIXED64)) value = reader.double();
    else if (tag === ((2 << 3) | WIRE_VARINT)) timestamp = toNumber(reader.int64());
    else reader.skipType(tag & 7);
  }
  return { value, timestamp };
}

function readSeries(
  reader: protobuf.Reader,
  end: number,
  limits: FullDecodeLimits,
  counts: Counts,
): TimeSeries {
  const labels: Label[] = [];
  const samples: Sample[] = [];
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) {
      // Counted before the label is read, so a flood of empty labels stops at the limit.
      if (labels.length >= limits.maxLabelsPerSeries) {
        throw overLimit(
          'more labels in one series',
          'max_labels_per_series',
          limits.maxLabelsPerSeries,
        );
      }
      if (++counts.labels > limits.maxLabelsPerRequest) {
        throw overLimit(
          'more labels in one request',
          'max_labels_per_request',
          limits.maxLabelsPerRequest,
        );
      }
      labels.push(readLabel(reader, fieldEnd(reader), limits));
    } else if (tag === ((2 << 3) | WIRE_BYTES)) {
      if (++counts.samples > limits.maxSamples) {
        throw overLimit(
          `at least ${counts.samples} samples in one request`,
          'max_samples_per_request',
          limits.maxSamples,
        );
      }
      samples.push(readSample(reader, fieldEnd(reader)));
    } else reader.skipType(tag & 7);
  }
  return { labels, samples };
}

/** Skip a string field without decoding it. */
function skipString(reader: protobuf.Reader): void {
  reader.pos = fieldEnd(reader);
}

function readMetadata(
  reader: protobuf.Reader,
  end: number,
  limits: FullDecodeLimits,
): MetricMetadata {
  let type: MetricType = 'UNKNOWN';
  let metricFamilyName = '';
  let help = '';
  let unit = '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | WIRE_VARINT)) type = METRIC_TYPES[reader.uint32()] ?? 'UNKNOWN';
    else if (tag === ((2 << 3) | WIRE_BYTES)) {
      metricFamilyName = readString(reader, limits, 'value (metadata metric_family_name)');
    } else if (tag === ((4 << 3) | WIRE_BYTES)) {
      // Help text is only a description: a long one is left out rather than refused.
      const at = reader.pos;
      const length = reader.uint32();
      reader.pos = at;
      if (length > limits.maxLabelBytes) skipString(reader);
      else help = readString(reader, limits, 'value (metadata help)');
    } else if (tag === ((5 << 3) | WIRE_BYTES)) {
      unit = readString(reader, limits, 'value (metadata unit)');
    } else reader.skipType(tag & 7);
  }
  return { type, metricFamilyName, help, unit };
}

/**
 * Walk the protobuf, counting series, labels, label bytes and samples as they are read and
 * stopping at the first limit crossed: the work is bounded by the limits, not by the body.
 * Metadata entries are read (their help text only when short); unknown fields (exemplars,
 * histograms) are skipped without being decoded.
 */
export function decodeWriteRequest(bytes: Uint8Array, limits: DecodeLimits): WriteRequest {
  const full: FullDecodeLimits = { ...defaultDecodeLimits, ...limits };
  const reader = protobuf.Reader.create(bytes);
  const counts: Counts = { samples: 0, labels: 0 };
  const timeseries: TimeSeries[] = [];
  const metadata: MetricMetadata[] = [];
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag === ((1 << 3) | WIRE_BYTES)) {
        if (timeseries.length >= full.maxSeries) {
          throw overLimit('more series in one request', 'max_series_per_request', full.maxSeries);
        }
        timeseries.push(readSeries(reader, fieldEnd(reader), full, counts));
      } else if (tag === ((3 << 3) | WIRE_BYTES)) {
        // One entry per metric family: bounded like series.
        if (metadata.length >= full.maxSeries) {
          throw overLimit(
            'more metadata entries in one request',
            'max_series_per_request',
            full.maxSeries,
          );
        }
        metadata.push(readMetadata(reader, fieldEnd(reader), full));
      } else reader.skipType(tag & 7);
    }
  } catch (err) {
    if (err instanceof VigilError) throw err;
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `body is not a protobuf prometheus.WriteRequest: ${why(err)}`,
    );
  }
  return metadata.length > 0 ? { timeseries, metadata } : { timeseries };
}

/** Encode (for tests and tools): the inverse of decodeWriteRequest, without compression. */
export function encodeWriteRequest(request: WriteRequest): Uint8Array {
  const type = writeRequest();
  return type.encode(type.fromObject(request)).finish();
}
