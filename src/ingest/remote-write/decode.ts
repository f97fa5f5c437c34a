/**
 * A remote-write v1 body → the decoded `prometheus.WriteRequest`: snappy block format (the
 * `snappy` package), then protobuf (protobufjs with proto/prometheus/remote.proto). Sizes are
 * checked before any work that could allocate them: the compressed body by the route's body
 * limit, the decompressed size from the snappy preamble before decompressing, the sample count
 * before mapping. Every failure is a VigilError whose message says what was wrong.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { uncompress } from 'snappy';
import { VigilError } from '../../errors.js';

export interface DecodeLimits {
  /** Largest decompressed protobuf, bytes. */
  readonly maxDecompressedBytes: number;
  /** Most samples in one request, over all series. */
  readonly maxSamples: number;
}

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

export interface WriteRequest {
  readonly timeseries: readonly TimeSeries[];
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
      `snappy body declares ${declared} decompressed bytes, the limit is ${limits.maxDecompressedBytes}: lower queue_config.max_samples_per_send`,
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

/** Decode the protobuf, then count samples against the limit. */
export function decodeWriteRequest(bytes: Uint8Array, limits: DecodeLimits): WriteRequest {
  let message: protobuf.Message;
  try {
    message = writeRequest().decode(bytes);
  } catch (err) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `body is not a protobuf prometheus.WriteRequest: ${why(err)}`,
    );
  }
  const raw = message as unknown as {
    timeseries?: { labels?: Label[]; samples?: { value?: number; timestamp?: unknown }[] }[];
  };
  const timeseries: TimeSeries[] = [];
  let samples = 0;
  for (const series of raw.timeseries ?? []) {
    samples += series.samples?.length ?? 0;
    if (samples > limits.maxSamples) {
      const total = (raw.timeseries ?? []).reduce((n, s) => n + (s.samples?.length ?? 0), 0);
      throw new VigilError(
        'VIGIL_ERR_PAYLOAD_TOO_LARGE',
        `${total} samples in one request, the limit is ${limits.maxSamples}: lower queue_config.max_samples_per_send`,
      );
    }
    timeseries.push({
      labels: (series.labels ?? []).map((l) => ({ name: l.name ?? '', value: l.value ?? '' })),
      samples: (series.samples ?? []).map((s) => ({
        value: s.value ?? 0,
        timestamp: toNumber(s.timestamp ?? 0),
      })),
    });
  }
  return { timeseries };
}

/** Encode (for tests and tools): the inverse of decodeWriteRequest, without compression. */
export function encodeWriteRequest(request: WriteRequest): Uint8Array {
  const type = writeRequest();
  return type.encode(type.fromObject(request)).finish();
}
