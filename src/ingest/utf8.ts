/**
 * Ingest refuses text that is not valid UTF-8 instead of letting the decoder turn it into U+FFFD:
 * a device id with a replaced byte is a different, silently wrong series. `isUtf8` (native, GB/s)
 * keeps the hot path cheap; the byte-by-byte scan runs only to name where a refused input fails.
 */
import { isUtf8 } from 'node:buffer';
import { VigilError } from '../errors.js';

/**
 * Offset (from `start`) of the first byte that does not begin or continue a well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or -1.
 */
export function invalidUtf8At(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (end - start <= SHORT) {
    // Short strings (ids, names, tags) are mostly ASCII: a loop beats a native call's overhead.
    let ascii = true;
    for (let i = start; i < end && ascii; i++) ascii = (bytes[i] as number) < 0x80;
    if (ascii) return -1;
  } else if (isUtf8(bytes.subarray(start, end))) return -1;
  return scan(bytes, start, end);
}

/** Below this many bytes a string is checked by the ASCII loop first. */
const SHORT = 64;

/** The byte-by-byte check, for a slice the fast paths did not clear. */
function scan(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0; // overlong below U+0800
      if (b === 0xed) high = 0x9f; // surrogates U+D800..U+DFFF
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90; // overlong below U+10000
      if (b === 0xf4) high = 0x8f; // above U+10FFFF
    } else return i - start; // 0x80..0xC1 (continuation or overlong lead), 0xF5..0xFF
    for (let k = 1; k < length; k++) {
      const c = i + k < end ? (bytes[i + k] as number) : -1;
      const [lo, hi] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (c < lo || c > hi) return i - start;
    }
    i += length;
  }
  return -1;
}

/** Throws VIGIL_ERR_INPUT naming `what` and the byte offset when `bytes` is not UTF-8. */
export function requireUtf8(bytes: Uint8Array, what: string): void {
  const at = invalidUtf8At(bytes);
  if (at !== -1) throw notUtf8(what, at);
}

export function notUtf8(what: string, at: number): VigilError {
  return new VigilError(
    'VIGIL_ERR_INPUT',
    `${what} is not valid UTF-8 at byte ${at}: send UTF-8 text (bytes are never replaced with U+FFFD)`,
  );
}
