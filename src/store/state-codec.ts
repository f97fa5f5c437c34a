/**
 * The binary form of a checkpointed state (docs/storage.md, "Checkpoints"): a 4-byte magic
 * `VGS\0`, one format-version byte, then the snapshot in the V8 structured-clone format
 * (`node:v8` serialize). Structured clone keeps what JSON loses: typed arrays (Float64Array,
 * Float32Array, …) element for element, NaN, ±Infinity and −0. V8 reads data written by older
 * V8 versions (its format carries its own version), so a newer Node restores these bytes; the
 * envelope's version lets Vigil change the payload itself later.
 */
import { deserialize, serialize } from 'node:v8';
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import { VigilError } from '../errors.js';

const MAGIC = [0x56, 0x47, 0x53, 0x00] as const;
/** Format 1: MAGIC, 1, V8 structured clone of the snapshot object. */
export const STATE_FORMAT = 1;
const HEADER = MAGIC.length + 1;

/** Encode a snapshot (plain data and typed arrays) into a checkpoint record. */
export function encodeState(snapshot: PipelineSnapshot): Uint8Array {
  const body = serialize(snapshot);
  const out = new Uint8Array(HEADER + body.length);
  out.set(MAGIC, 0);
  out[MAGIC.length] = STATE_FORMAT;
  out.set(body, HEADER);
  return out;
}

/**
 * Decode what `encodeState` wrote.
 * @throws VIGIL_ERR_STORE_INVALID for bytes without the envelope or of an unknown version.
 */
export function decodeState(bytes: Uint8Array, key: string): PipelineSnapshot {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new VigilError('VIGIL_ERR_STORE_INVALID', `checkpoint ${key}: not a Vigil state`);
    }
  }
  const version = bytes[MAGIC.length];
  if (version !== STATE_FORMAT) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `checkpoint ${key}: state format ${String(version)} is not known to this Vigil ` +
        `(it reads format ${STATE_FORMAT})`,
    );
  }
  const body = bytes.subarray(HEADER);
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
