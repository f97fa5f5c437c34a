/**
 * The binary form of a checkpointed state (docs/storage.md, "Checkpoints"): a 4-byte magic
 * `VGS\0`, one format-version byte, then the snapshot in the V8 structured-clone format
 * (`node:v8` serialize). Structured clone keeps what JSON loses: typed arrays (Float64Array,
 * Float32Array, …) element for element, NaN, ±Infinity and −0. V8 reads data written by older
 * V8 versions (its format carries its own version), so a newer Node restores these bytes; the
 * envelope's version lets Vigil change the payload itself later.
 *
 * Format 2 puts a small head between the version byte and the body: a big-endian u16 length,
 * then that many bytes of UTF-8 JSON naming the series and its strategy (`StateHead`). The store
 * can read the head alone (a few dozen bytes), so a restart learns which series exist without
 * reading or decoding their states; each state is read when its series gets its next point.
 */
import { deserialize, serialize } from 'node:v8';
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import { VigilError } from '../errors.js';

const MAGIC = [0x56, 0x47, 0x53, 0x00] as const;
/** Format 1: MAGIC, 1, V8 structured clone of the snapshot object (still read). */
export const STATE_FORMAT_V1 = 1;
/** Format 2: MAGIC, 2, u16 head length, head (UTF-8 JSON), V8 structured clone. */
export const STATE_FORMAT = 2;
const HEADER = MAGIC.length + 1;
/** Byte offset of a format-2 head (after the u16 length). */
export const HEAD_OFFSET = HEADER + 2;
/** Heads longer than this are not written (the state restores all the same, only not lazily). */
const HEAD_MAX = 0xffff;

/** What a format-2 state says about itself without its body: the series and its strategy. */
export interface StateHead {
  readonly strategy: string;
  readonly version: number;
  readonly device: string;
  readonly metric: string;
}

/** The head a snapshot gets: only a series' own state (with an engine tag naming its metric). */
function headOf(snapshot: PipelineSnapshot): Uint8Array {
  const tag = (snapshot as { engine?: { device?: unknown; metric?: unknown } }).engine;
  if (typeof tag?.device !== 'string' || typeof tag.metric !== 'string') return new Uint8Array(0);
  const head: StateHead = {
    strategy: snapshot.strategy,
    version: snapshot.version,
    device: tag.device,
    metric: tag.metric,
  };
  const bytes = Buffer.from(JSON.stringify(head), 'utf8');
  return bytes.length > HEAD_MAX ? new Uint8Array(0) : bytes;
}

/** Encode a snapshot (plain data and typed arrays) into a checkpoint record. */
export function encodeState(snapshot: PipelineSnapshot): Uint8Array {
  const head = headOf(snapshot);
  const body = serialize(snapshot);
  const out = new Uint8Array(HEAD_OFFSET + head.length + body.length);
  out.set(MAGIC, 0);
  out[MAGIC.length] = STATE_FORMAT;
  out[HEADER] = head.length >> 8;
  out[HEADER + 1] = head.length & 0xff;
  out.set(head, HEAD_OFFSET);
  out.set(body, HEAD_OFFSET + head.length);
  return out;
}

/** Where the V8 body starts, after checking the envelope. */
function bodyStart(bytes: Uint8Array, key: string): number {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new VigilError('VIGIL_ERR_STORE_INVALID', `checkpoint ${key}: not a Vigil state`);
    }
  }
  const version = bytes[MAGIC.length];
  if (version === STATE_FORMAT_V1) return HEADER;
  if (version !== STATE_FORMAT) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `checkpoint ${key}: state format ${String(version)} is not known to this Vigil ` +
        `(it reads formats ${STATE_FORMAT_V1} and ${STATE_FORMAT})`,
    );
  }
  const start = HEAD_OFFSET + (((bytes[HEADER] ?? 0) << 8) | (bytes[HEADER + 1] ?? 0));
  if (bytes.length < HEAD_OFFSET || start > bytes.length) {
    throw new VigilError('VIGIL_ERR_STORE_INVALID', `checkpoint ${key}: state is truncated`);
  }
  return start;
}

/**
 * Decode what `encodeState` wrote (either format).
 * @throws VIGIL_ERR_STORE_INVALID for bytes without the envelope or of an unknown version.
 */
export function decodeState(bytes: Uint8Array, key: string): PipelineSnapshot {
  const body = bytes.subarray(bodyStart(bytes, key));
  let snapshot: unknown;
  try {
    snapshot = deserialize(body);
  } catch (error) {
    throw new VigilError('VIGIL_ERR_STORE_INVALID', `checkpoint ${key}: state is corrupt`, {
      cause: error,
    });
  }
  if (typeof snapshot !== 'object' || snapshot === null) {
    throw new VigilError('VIGIL_ERR_STORE_INVALID', `checkpoint ${key}: state is not an object`);
  }
  return snapshot as PipelineSnapshot;
}

/**
 * Parse a format-2 head (its JSON text, as the store reads it alone).
 * @throws VIGIL_ERR_STORE_INVALID when it is not a head `encodeState` writes.
 */
export function parseHead(text: string, key: string): StateHead {
  let head: unknown;
  try {
    head = JSON.parse(text);
  } catch (error) {
    throw new VigilError('VIGIL_ERR_STORE_INVALID', `checkpoint ${key}: state head is corrupt`, {
      cause: error,
    });
  }
  const h = head as Partial<StateHead> | null;
  if (
    typeof h?.strategy !== 'string' ||
    typeof h.version !== 'number' ||
    typeof h.device !== 'string' ||
    typeof h.metric !== 'string'
  ) {
    throw new VigilError('VIGIL_ERR_STORE_INVALID', `checkpoint ${key}: state head is incomplete`);
  }
  return { strategy: h.strategy, version: h.version, device: h.device, metric: h.metric };
}

/** The head of a format-2 state as its JSON text, or null (format 1, or an empty head). */
export function headText(bytes: Uint8Array): string | null {
  if (bytes.length < HEAD_OFFSET || bytes[MAGIC.length] !== STATE_FORMAT) return null;
  const n = ((bytes[HEADER] ?? 0) << 8) | (bytes[HEADER + 1] ?? 0);
  if (n === 0 || HEAD_OFFSET + n > bytes.length) return null;
  return Buffer.from(bytes.buffer, bytes.byteOffset + HEAD_OFFSET, n).toString('utf8');
}
