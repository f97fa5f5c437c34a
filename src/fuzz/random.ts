/**
 * Draws for the fuzz generators on top of the project's seeded generator (src/core/stats/rng.ts,
 * sfc32): no new dependency, and a case is reproducible from (seed, case index) alone.
 * The odd values are the ones parsers get wrong: lone surrogates, NUL, byte order marks,
 * right-to-left and combining marks, names past every length limit, numbers at the edges of
 * double and int64.
 */
import { Rng } from '../core/stats/rng.js';

export { Rng };

/** The generator of one case: independent of every other case, so any case replays alone. */
export function caseRng(seed: number, index: number): Rng {
  // Multiplying by an odd constant is a bijection mod 2^32: distinct cases, distinct seeds.
  return Rng.fromSeed((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

export function chance(rng: Rng, p: number): boolean {
  return rng.next() < p;
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

/** Mostly small counts, now and then a large one. */
export function count(rng: Rng, usual: number, rare = usual * 50): number {
  return chance(rng, 0.995) ? rng.int(usual + 1) : rng.int(rare + 1);
}

export const ODD_STRINGS: readonly string[] = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '\0',
  'a\0b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '\ufeff',
  '\ufeffbom',
  '\ufffe\uffff',
  '\u202eevil\u202c', // right-to-left override
  'שלום',
  'مرحبا',
  'e\u0301\u0308\u20dd\u0327',
  'Z\u0351\u0352\u0353\u0354\u0355\u0356\u0357',
  '😀',
  '👨‍👩‍👧‍👦',
  '\u{10ffff}',
  '\u200b',
  '\t',
  '\r\n',
  '\n',
  '\\',
  '\\N',
  '\\.',
  '"',
  "'",
  ',',
  '=',
  '@',
  '#',
  '/',
  '+',
  '{}',
  '[]',
  'null',
  'true',
  'NaN',
  'x'.repeat(199),
  'x'.repeat(200),
  'x'.repeat(201),
  '😀'.repeat(100),
  '😀'.repeat(101),
];

/** A 10k-character name, drawn rarely: it makes a case large and slow to generate. */
export const LONG_NAME = 'n'.repeat(10_000);

/** A name-like string: usually short ASCII, often odd Unicode, sometimes very long. */
export function oddString(rng: Rng): string {
  const r = rng.next();
  if (r < 0.5) return asciiName(rng);
  if (r < 0.75) return chance(rng, 0.02) ? LONG_NAME : pick(rng, ODD_STRINGS);
  if (r < 0.8) return asciiName(rng) + pick(rng, ODD_STRINGS) + asciiName(rng);
  return unicodeString(rng, chance(rng, 0.9) ? 1 + rng.int(12) : rng.int(400));
}

export function asciiName(rng: Rng): string {
  const length = 1 + rng.int(10);
  let s = '';
  for (let i = 0; i < length; i++) s += pick(rng, NAME_CHARS);
  return s;
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz_0123456789ABCXYZ.-'.split('');

/** Code units from every plane, lone surrogates and controls included. */
export function unicodeString(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const r = rng.next();
    let cp: number;
    if (r < 0.4) cp = 0x20 + rng.int(0x5f);
    else if (r < 0.45) cp = rng.int(0x20);
    else if (r < 0.65) cp = 0x80 + rng.int(0xd800 - 0x80);
    else if (r < 0.7) cp = 0xd800 + rng.int(0x800);
    else if (r < 0.8) cp = 0xe000 + rng.int(0x2000);
    else if (r < 0.88) cp = 0x300 + rng.int(0x70);
    else if (r < 0.92)
      cp = 0x590 + rng.int(0x200); // Hebrew, Arabic: right to left
    else cp = 0x10000 + rng.int(0x100000);
    s += String.fromCodePoint(cp);
  }
  return s;
}

export const ODD_NUMBER_TEXTS: readonly string[] = [
  '0',
  '-0',
  '0.0',
  '1e400',
  '-1e400',
  '1e-400',
  '5e-324',
  '1.7976931348623157e308',
  '1.7976931348623159e308',
  '9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '18446744073709551615',
  '18446744073709551616',
  'NaN',
  '-NaN',
  'Infinity',
  '-Infinity',
  'inf',
  '1e',
  '1e+',
  'e5',
  '.5',
  '5.',
  '.',
  '-',
  '+1',
  '--1',
  '0x1f',
  '0b11',
  '1_000',
  '00012',
  '1E5',
  '1e0005',
  '１２３', // full-width digits
  '٣', // Arabic-Indic digit
  '',
];

/** A number as text: usually ordinary, often at an edge. */
export function numberText(rng: Rng): string {
  const r = rng.next();
  if (r < 0.6) return String(Math.round(rng.uniform(-1000, 1000) * 1000) / 1000);
  if (r < 0.75) return String(rng.int(1000));
  return pick(rng, ODD_NUMBER_TEXTS);
}

export const ODD_NUMBERS: readonly number[] = [
  0,
  -0,
  5e-324,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  NaN,
  Infinity,
  -Infinity,
  0.1,
];

/** A double: usually ordinary, often odd, now and then any bit pattern. */
export function double(rng: Rng): number {
  const r = rng.next();
  if (r < 0.7) return Math.round(rng.uniform(-1000, 1000) * 100) / 100;
  if (r < 0.9) return pick(rng, ODD_NUMBERS);
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, rng.nextUint32());
  view.setUint32(4, rng.nextUint32());
  return view.getFloat64(0);
}

/** Last accepted event time + 1 (2100-01-01), the engine's bound. */
export const TIME_END = Date.UTC(2100, 0, 1);

/** A timestamp in ms: usually a plausible one, often an edge. */
export function timestampMs(rng: Rng): number {
  const r = rng.next();
  if (r < 0.8) return 1_600_000_000_000 + rng.int(200_000_000) * 1000 + rng.int(1000);
  return pick(rng, [0, -1, 1, TIME_END - 1, TIME_END, 2 ** 53 - 1, 2 ** 53, 8.64e15, 1.5, -0]);
}

export function randomBytes(rng: Rng, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rng.int(256);
  return out;
}
