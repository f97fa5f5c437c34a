/**
 * The order in which CPython 2.7 (64-bit) iterates a `dict` of float keys inserted in a given
 * order, with no deletions. NAB's threshold optimiser kept the first of equally good thresholds
 * in that order, so reproducing its published thresholds to the last bit needs it. The model of
 * CPython's float hash, probing and resizing: docs/nab.md, "CPython 2.7 dict order".
 */

const U64 = (1n << 64n) - 1n;
const TWO31 = 2147483648;
const PERTURB_SHIFT = 5n;
const MIN_SLOTS = 8;

/** `hash(v)` of CPython 2.7 for a float, as a signed 64-bit integer. */
export function pyFloatHash(v: number): bigint {
  if (Number.isNaN(v)) return 0n;
  if (v === Number.POSITIVE_INFINITY) return 314159n;
  if (v === Number.NEGATIVE_INFINITY) return -271828n;
  if (Number.isInteger(v)) return pyIntHash(BigInt(v));
  const [mantissa, exponent] = frexp(v);
  let m = mantissa * TWO31;
  const hi = Math.trunc(m);
  m = (m - hi) * TWO31;
  // Each part is below 2^31 in magnitude and the exponent within ±1100: exact as a double.
  const x = BigInt(hi) + BigInt(Math.trunc(m)) + (BigInt(exponent) << 15n);
  return x === -1n ? -2n : x;
}

/** `hash(n)` of CPython 2.7 for an integer (int or long: they agree where both exist). */
function pyIntHash(n: bigint): bigint {
  const negative = n < 0n;
  let magnitude = negative ? -n : n;
  // Python 2 longs hold 30-bit digits; the hash folds them, most significant first, into an
  // unsigned long with a circular 30-bit shift and an end-around carry.
  const digits: bigint[] = [];
  while (magnitude > 0n) {
    digits.push(magnitude & 0x3fffffffn);
    magnitude >>= 30n;
  }
  let x = 0n;
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = digits[i] as bigint;
    x = ((x >> 34n) | (x << 30n)) & U64;
    x = (x + d) & U64;
    if (x < d) x = (x + 1n) & U64;
  }
  if (negative) x = -x & U64;
  if (x === U64) x = U64 - 1n; // (unsigned long)-1 becomes -2
  return BigInt.asIntN(64, x);
}

/** C's `frexp`: `v = mantissa * 2^exponent` with `0.5 <= |mantissa| < 1` (v finite, nonzero). */
function frexp(v: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const biased = (view.getUint16(0) >> 4) & 0x7ff;
  if (biased === 0) {
    // Subnormal: scale into the normal range first.
    const [m, e] = frexp(v * 2 ** 64);
    return [m, e - 64];
  }
  const exponent = biased - 1022;
  // Rewrite the exponent field to that of 0.5 (biased 1022), keeping sign and mantissa bits.
  view.setUint16(0, (view.getUint16(0) & 0x800f) | (1022 << 4));
  return [view.getFloat64(0), exponent];
}

/**
 * The keys of a CPython 2.7 dict built by inserting `keys` in order (repeats ignored, as
 * re-assigning a key keeps its slot), in the dict's iteration order.
 */
export function pyDictOrder(keys: readonly number[]): number[] {
  let slots: (number | undefined)[] = new Array<number | undefined>(MIN_SLOTS);
  let hashes: bigint[] = new Array<bigint>(MIN_SLOTS).fill(0n);
  let used = 0;

  // The slot holding `key`, else the empty slot where it would go (the table is never full).
  const find = (
    table: readonly (number | undefined)[],
    key: number,
    hash: bigint,
    stopAtKey: boolean,
  ): number => {
    const mask = BigInt(table.length - 1);
    let i = BigInt.asUintN(64, hash) & mask;
    let perturb = BigInt.asUintN(64, hash);
    for (;;) {
      const slot = Number(i & mask);
      const there = table[slot];
      if (there === undefined || (stopAtKey && there === key)) return slot;
      i = (i * 5n + perturb + 1n) & U64;
      perturb >>= PERTURB_SHIFT;
    }
  };

  for (const key of keys) {
    const hash = pyFloatHash(key);
    const slot = find(slots, key, hash, true);
    if (slots[slot] !== undefined) continue;
    slots[slot] = key;
    hashes[slot] = hash;
    used++;
    // No deletions, so "fill" (live plus deleted slots) equals `used`.
    if (used * 3 >= slots.length * 2) {
      const target = (used > 50000 ? 2 : 4) * used;
      let size = MIN_SLOTS;
      while (size <= target) size *= 2;
      const nextSlots = new Array<number | undefined>(size);
      const nextHashes = new Array<bigint>(size).fill(0n);
      slots.forEach((k, j) => {
        if (k === undefined) return;
        const h = hashes[j] as bigint;
        const to = find(nextSlots, k, h, false);
        nextSlots[to] = k;
        nextHashes[to] = h;
      });
      slots = nextSlots;
      hashes = nextHashes;
    }
  }
  return slots.filter((k): k is number => k !== undefined);
}
