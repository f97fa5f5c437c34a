/**
 * The Ingest service's messages on the wire: `IngestRequest` and `DetectRequest` bytes → engine
 * points in one pass, `IngestAck` → bytes. Hand-written because the generic decoder cost a fifth
 * of the server's CPU per point (docs/grpc.md). Unknown fields are skipped and later duplicates
 * win, as protobuf requires; bytes that are not protobuf throw VIGIL_ERR_INPUT.
 */
import protobuf from 'protobufjs';
import { setOwn } from '../../data/set-own.js';
import type { IngestPoint, PointError } from '../../engine/engine.js';
import { VigilError } from '../../errors.js';
import { invalidUtf8At } from '../utf8.js';

export const INPUT_CODE = 'VIGIL_ERR_INPUT';

/** One request read from a stream, converted, waiting for its ack. */
export interface Pending {
  readonly seqId: string;
  /** Points that passed the adapter's own checks, for the engine. */
  readonly points: IngestPoint[];
  /** Request index of each entry of `points` (undefined: the identity). */
  readonly origin: number[] | undefined;
  /** Number of points in the request. */
  readonly total: number;
  readonly errors: PointError[];
  /** Set when the request as a whole is malformed. */
  readonly invalid?: string;
}

export interface RequestLimits {
  readonly maxMetricsPerPoint: number;
  readonly maxPointsPerMessage: number;
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

class WireError extends Error {}

/** A cursor over protobuf wire data. */
class Cursor {
  pos: number;
  /** Field number and wire type of the tag last read by `tag()`. */
  field = 0;
  wire = 0;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint as a number when it is below 2^53, else exactly, as an unsigned 64-bit bigint. */
  varint(): number | bigint {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        return result <= Number.MAX_SAFE_INTEGER ? result : this.bigVarint(i + 1);
      }
      scale *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** Re-read the `length`-byte varint just read, exactly (rare: values of 2^53 and more). */
  private bigVarint(length: number): bigint {
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) {
      value = (value << 7n) | BigInt((this.buf[this.pos - length + i] as number) & 0x7f);
    }
    return BigInt.asUintN(64, value);
  }

  /** Read the next field's tag into `field` and `wire`. */
  tag(): void {
    const tag = this.uint();
    this.field = tag >>> 3;
    this.wire = tag & 7;
  }

  /** A tag or length: small by construction. */
  uint(): number {
    const v = this.varint();
    if (typeof v !== 'number' || v > 0xffffffff) throw new WireError('length out of range');
    return v;
  }

  /** The end of a length-delimited field starting here. */
  sub(): number {
    const length = this.uint();
    const end = this.pos + length;
    if (end > this.end) throw new WireError('length beyond the end of the message');
    return end;
  }

  string(): string {
    const end = this.sub();
    // Protobuf strings are UTF-8; a bad byte is refused, never replaced (src/ingest/utf8.ts).
    const at = invalidUtf8At(this.buf, this.pos, end);
    if (at !== -1)
      throw new WireError(`string at byte ${this.pos} is not valid UTF-8 at byte ${at} of it`);
    const text = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return text;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.pos += 8;
    else if (wireType === LENGTH) this.pos = this.sub();
    else if (wireType === FIXED32) this.pos += 4;
    else throw new WireError(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new WireError('field beyond the end of the message');
  }
}

/** An int64 as the ms timestamp the engine takes, or the reason it is not one. */
function timestampOf(raw: number | bigint): number | string {
  if (typeof raw === 'number' && raw > 0) return raw;
  const text = typeof raw === 'number' ? String(raw) : String(BigInt.asIntN(64, raw));
  return `timestamp: ${text === '0' ? 'missing (0)' : text} is not a positive ms timestamp below 2^53`;
}

const seqText = (raw: number | bigint): string => String(raw);

/** A `map<string, V>` entry (key = 1, value = 2) into `into`; true when the key is new. */
function readEntry<V>(
  c: Cursor,
  into: Record<string, V>,
  valueWire: number,
  readValue: (c: Cursor) => V,
  empty: V,
): boolean {
  const end = c.sub();
  let key = '';
  let value = empty;
  while (c.pos < end) {
    c.tag();
    const { field, wire } = c;
    if (field === 1 && wire === LENGTH) key = c.string();
    else if (field === 2 && wire === valueWire) value = readValue(c);
    else c.skip(wire);
  }
  if (c.pos !== end) throw new WireError('map entry overruns its length');
  const fresh = !Object.hasOwn(into, key);
  setOwn(into, key, value);
  return fresh;
}

const readDouble = (c: Cursor): number => c.double();
const readString = (c: Cursor): string => c.string();

interface DecodedPoint {
  point: IngestPoint | string;
  seqId: string;
}

function decodePoint(c: Cursor, end: number, limits: RequestLimits): DecodedPoint {
  let timestamp: number | bigint = 0;
  let device = '';
  let seqId = '0';
  const metrics: Record<string, number> = {};
  let metricCount = 0;
  let tags: Record<string, string> | undefined;
  while (c.pos < end) {
    c.tag();
    const { field, wire } = c;
    if (field === 1 && wire === VARINT) timestamp = c.varint();
    else if (field === 2 && wire === LENGTH) device = c.string();
    else if (field === 3 && wire === LENGTH) {
      if (readEntry(c, metrics, FIXED64, readDouble, 0)) metricCount++;
    } else if (field === 4 && wire === LENGTH) readEntry(c, (tags ??= {}), LENGTH, readString, '');
    else if (field === 5 && wire === VARINT) seqId = seqText(c.varint());
    else c.skip(wire);
  }
  if (c.pos !== end) throw new WireError('point overruns its length');
  const ts = timestampOf(timestamp);
  if (typeof ts === 'string') return { point: ts, seqId };
  if (metricCount > limits.maxMetricsPerPoint) {
    return {
      point: `metrics: ${metricCount} metrics, at most ${limits.maxMetricsPerPoint}`,
      seqId,
    };
  }
  const point: IngestPoint =
    tags === undefined
      ? { timestamp: ts, device_id: device, metrics }
      : { timestamp: ts, device_id: device, metrics, tags };
  return { point, seqId };
}

/** Collects a request's points and per-point errors. */
class Collector {
  readonly points: IngestPoint[] = [];
  readonly errors: PointError[] = [];
  origin: number[] | undefined;
  total = 0;

  add(point: IngestPoint | string): void {
    const i = this.total++;
    if (typeof point === 'string') {
      this.origin ??= Array.from({ length: i }, (_, j) => j);
      this.errors.push({ index: i, code: INPUT_CODE, message: point });
    } else {
      this.origin?.push(i);
      this.points.push(point);
    }
  }
}

function pending(seqId: string, collected: Collector, invalid?: string): Pending {
  const { points, origin, total, errors } = collected;
  return invalid === undefined
    ? { seqId, points, origin, total, errors }
    : { seqId, points: [], origin: undefined, total, errors: [], invalid };
}

function decodeBatch(c: Cursor, end: number, limits: RequestLimits): Pending {
  const collected = new Collector();
  let seqId = '0';
  while (c.pos < end) {
    c.tag();
    const { field, wire } = c;
    if (field === 1 && wire === LENGTH) {
      const pointEnd = c.sub();
      // Past the limit the points are only counted, for the message.
      if (collected.total >= limits.maxPointsPerMessage) {
        collected.total++;
        c.pos = pointEnd;
      } else collected.add(decodePoint(c, pointEnd, limits).point);
    } else if (field === 2 && wire === VARINT) seqId = seqText(c.varint());
    else c.skip(wire);
  }
  const n = collected.total;
  const invalid =
    n === 0
      ? 'batch.points: empty batch'
      : n > limits.maxPointsPerMessage
        ? `batch.points: ${n} points, at most ${limits.maxPointsPerMessage} per message`
        : undefined;
  return pending(seqId, collected, invalid);
}

/** Read a whole message with `read`; malformed wire data becomes an error naming the message. */
function decodeMessage<T>(message: string, bytes: Buffer, read: (c: Cursor) => T): T {
  try {
    return read(new Cursor(bytes, 0, bytes.length));
  } catch (error) {
    if (error instanceof WireError) {
      throw new VigilError('VIGIL_ERR_INPUT', `invalid ${message}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Decode one IngestRequest. The oneof's last field on the wire wins, as protobuf specifies.
 * @throws VigilError (VIGIL_ERR_INPUT) when the bytes are not a valid protobuf message.
 */
export function decodeIngestRequest(bytes: Buffer, limits: RequestLimits): Pending {
  const result = decodeMessage('IngestRequest', bytes, (c) => {
    let last: Pending | undefined;
    while (c.pos < c.end) {
      c.tag();
      const { field, wire } = c;
      if (field === 1 && wire === LENGTH) {
        const end = c.sub();
        const { point, seqId } = decodePoint(c, end, limits);
        const collected = new Collector();
        collected.add(point);
        last = pending(seqId, collected);
      } else if (field === 2 && wire === LENGTH) {
        last = decodeBatch(c, c.sub(), limits);
      } else c.skip(wire);
    }
    return last;
  });
  return (
    result ?? {
      seqId: '0',
      points: [],
      origin: undefined,
      total: 0,
      errors: [],
      invalid: 'payload: neither point nor batch is set',
    }
  );
}

/** A decoded `DetectRequest`: its points, or why the request is refused. */
export type DetectInput =
  { readonly points: IngestPoint[]; readonly error?: undefined } | { readonly error: string };

/**
 * Decode one DetectRequest: all of its points must be good, or the request is refused naming the
 * first bad one.
 * @throws VigilError (VIGIL_ERR_INPUT) when the bytes are not a valid protobuf message.
 */
export function decodeDetectRequest(bytes: Buffer, limits: RequestLimits): DetectInput {
  return decodeMessage('DetectRequest', bytes, (c) => {
    const points: IngestPoint[] = [];
    let count = 0;
    let error: string | undefined;
    while (c.pos < c.end) {
      c.tag();
      const { field, wire } = c;
      if (field === 1 && wire === LENGTH) {
        const end = c.sub();
        const i = count++;
        if (error !== undefined || i >= limits.maxPointsPerMessage) {
          c.pos = end;
          continue;
        }
        const { point } = decodePoint(c, end, limits);
        if (typeof point === 'string') error = `points[${i}].${point}`;
        else points.push(point);
      } else c.skip(wire);
    }
    if (count > limits.maxPointsPerMessage) {
      return { error: `points: ${count} points, at most ${limits.maxPointsPerMessage}` };
    }
    return error === undefined ? { points } : { error };
  });
}

/** An IngestAck as the stream writes it (field names of ingest.proto). */
export interface Ack {
  /** Decimal uint64, echoed from the request. */
  readonly seq_id: string;
  readonly status:
    'STATUS_CODE_OK' | 'STATUS_CODE_PARTIAL' | 'STATUS_CODE_INVALID' | 'STATUS_CODE_RETRY';
  readonly message: string;
  readonly errors: readonly PointError[];
}

const STATUS_NUMBER: Record<Ack['status'], number> = {
  STATUS_CODE_OK: 1,
  STATUS_CODE_PARTIAL: 2,
  STATUS_CODE_INVALID: 3,
  STATUS_CODE_RETRY: 4,
};

/** A decimal uint64 for Writer.uint64: a number when exact, else the text (parsed as a Long). */
const uint64 = (decimal: string): number | string =>
  decimal.length < 16 ? Number(decimal) : decimal;

/** IngestAck → bytes; fields at their default value are left out, as protobuf encoders do. */
export function encodeAck(ack: Ack): Buffer {
  const w = protobuf.Writer.create();
  if (ack.seq_id !== '0') w.uint32((1 << 3) | VARINT).uint64(uint64(ack.seq_id));
  w.uint32((2 << 3) | VARINT).int32(STATUS_NUMBER[ack.status]);
  if (ack.message !== '') w.uint32((3 << 3) | LENGTH).string(ack.message);
  for (const e of ack.errors) {
    w.uint32((4 << 3) | LENGTH).fork();
    if (e.index !== 0) w.uint32((1 << 3) | VARINT).uint32(e.index);
    if (e.code !== '') w.uint32((2 << 3) | LENGTH).string(e.code);
    if (e.message !== '') w.uint32((3 << 3) | LENGTH).string(e.message);
    w.ldelim();
  }
  const bytes = w.finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
