/**
 * Rounding to float32 in a chosen direction, for bounds kept in float32 storage: a maximum
 * rounded up and a minimum rounded down still bound every value they were taken over.
 */
const bits = new Float32Array(1);
const word = new Int32Array(bits.buffer);

/** The smallest float32 at or above `x` (NaN stays NaN). */
export function float32Up(x: number): number {
  const f = Math.fround(x);
  return f < x ? step(f, 1) : f;
}

/** The largest float32 at or below `x` (NaN stays NaN). */
export function float32Down(x: number): number {
  const f = Math.fround(x);
  return f > x ? step(f, -1) : f;
}

/** The float32 next to the finite or infinite float32 `f` towards +∞ (dir 1) or −∞ (dir −1). */
function step(f: number, dir: 1 | -1): number {
  if (f === 0) return dir * 2 ** -149; // the smallest subnormal, either sign
  bits[0] = f;
  // The bit pattern of a float32 counts up in magnitude: towards zero is one less, away one more.
  word[0] = word[0]! + (f > 0 === dir > 0 ? 1 : -1);
  return bits[0]!;
}
