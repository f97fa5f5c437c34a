/**
 * Mutations of a well-formed input, so that most cases sit near the valid grammar (where parsers
 * have the most code) rather than in noise that the first check refuses: truncation at any byte,
 * bit flips, deleted, duplicated and inserted spans, and splices of interesting bytes.
 */
import { chance, pick, randomBytes, type Rng } from './random.js';

/** Bytes that change a parser's state: separators, quotes, escapes, UTF-8 lead and stray bytes. */
const INTERESTING = [
  0x00, 0x0a, 0x0d, 0x09, 0x20, 0x22, 0x27, 0x2c, 0x3d, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x23,
  0x40, 0x2f, 0x2b, 0x2d, 0x2e, 0x65, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4,
  0xf8, 0xff,
];

/** Apply 1–3 mutations to a copy of `input`. */
export function mutateBytes(rng: Rng, input: Buffer): Buffer {
  let out: Buffer = Buffer.from(input);
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) out = mutateOnce(rng, out);
  return out;
}

function mutateOnce(rng: Rng, b: Buffer): Buffer {
  const n = b.length;
  const at = rng.int(n + 1);
  switch (rng.int(8)) {
    case 0: // truncate at any byte boundary
      return b.subarray(0, at);
    case 1: {
      if (n === 0) return b;
      const copy = Buffer.from(b);
      const i = rng.int(n);
      copy[i] = (copy[i] as number) ^ (1 << rng.int(8));
      return copy;
    }
    case 2: {
      if (n === 0) return b;
      const copy = Buffer.from(b);
      copy[rng.int(n)] = pick(rng, INTERESTING);
      return copy;
    }
    case 3: {
      const end = Math.min(n, at + 1 + rng.int(16));
      return Buffer.concat([b.subarray(0, at), b.subarray(end)]);
    }
    case 4: {
      const end = Math.min(n, at + 1 + rng.int(32));
      const span = b.subarray(at, end);
      const times = chance(rng, 0.95) ? 1 + rng.int(3) : 50 + rng.int(500);
      return Buffer.concat([
        b.subarray(0, end),
        ...Array<Buffer>(times).fill(span),
        b.subarray(end),
      ]);
    }
    case 5:
      return Buffer.concat([
        b.subarray(0, at),
        Buffer.from([pick(rng, INTERESTING)]),
        b.subarray(at),
      ]);
    case 6:
      return Buffer.concat([b.subarray(0, at), randomBytes(rng, 1 + rng.int(8)), b.subarray(at)]);
    default: {
      // Swap two spans: reorders fields, lines and elements.
      if (n < 4) return b;
      const i = rng.int(n - 1);
      const j = i + 1 + rng.int(n - i - 1);
      return Buffer.concat([b.subarray(j), b.subarray(i, j), b.subarray(0, i)]);
    }
  }
}

/**
 * The case for one generated, well-formed input: mostly kept as is, often mutated, and a slice
 * of pure random bytes.
 */
export function finish(rng: Rng, valid: () => Buffer): Buffer {
  const r = rng.next();
  if (r < 0.05) return randomBytes(rng, rng.int(chance(rng, 0.9) ? 64 : 4096));
  const input = valid();
  const output = r < 0.55 ? input : mutateBytes(rng, input);
  return output.length > MAX_CASE_BYTES ? output.subarray(0, MAX_CASE_BYTES) : output;
}

/**
 * Largest case. Parsing is linear in the body, so an 8 MiB body (the routes' limit) would take
 * longer than the 100 ms hang budget for no fault; a quarter MiB leaves that budget to measure
 * pathological work (backtracking, quadratic loops) rather than size.
 */
export const MAX_CASE_BYTES = 256 * 1024;
