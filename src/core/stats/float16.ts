/**
 * IEEE 754 half precision (binary16) kept as bit patterns in a Uint16Array, for per-series parts
 * that need no more than 3 significant digits (Node 20 has no Float16Array). Encoding rounds to
 * nearest, ties to even, through float32 (a value exactly halfway after the float32 rounding may
 * round differently from a direct rounding of the double; the result is still deterministic).
 * Finite values beyond the half range clamp to ±65504 instead of becoming infinite, so distances
 * computed from stored values stay finite.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Largest finite half, as bits. */
const MAX_FINITE = 0x7bff;

/** The half bit pattern nearest to `x` (NaN → a quiet NaN, ±∞ → ±∞). */
export function toFloat16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const e32 = (b >>> 23) & 0xff;
  const m = b & 0x7fffff;
  if (e32 === 0xff) return sign | 0x7c00 | (m !== 0 ? 0x200 : 0);
  const e = e32 - 127 + 15;
  if (e >= 0x1f) return sign | MAX_FINITE;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: a signed zero
    const full = m | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  // A carry out of the mantissa moves into the exponent, as it should; into ∞: clamp.
  return sign | (half > MAX_FINITE ? MAX_FINITE : half);
}

/** Every half's value, by bit pattern: decoding is one lookup (256 KB, once per process). */
export const FLOAT16_VALUES: Float32Array = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] =
      e === 0
        ? sign * m * 2 ** -24
        : e === 0x1f
          ? m === 0
            ? sign * Number.POSITIVE_INFINITY
            : Number.NaN
          : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
})();

/** `x` rounded to the nearest half (clamped to the finite range, as stored). */
export function roundFloat16(x: number): number {
  return FLOAT16_VALUES[toFloat16(x)]!;
}
