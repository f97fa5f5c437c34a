/**
 * A protobuf writer for fuzz cases that can also write what no encoder would: varints of 11
 * bytes, lengths past the end, wrong wire types, invalid UTF-8 in strings. Generated messages
 * are well-formed unless the generator asks for a fault.
 */
import { chance, pick, randomBytes, type Rng } from './random.js';

export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH = 2;
export const FIXED32 = 5;

/** An unsigned varint of an integer, taken mod 2^64 (so -1 is ten bytes, as int64 writes it). */
export function varintBytes(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

export class WireWriter {
  private readonly parts: Buffer[] = [];

  constructor(private readonly rng: Rng) {}

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }

  raw(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }

  varint(value: number | bigint): this {
    return this.raw(varintBytes(value));
  }

  tag(field: number, wire: number): this {
    return this.varint(BigInt(field) * 8n + BigInt(wire));
  }

  double(value: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    return this.raw(b);
  }

  /** A length-delimited field; now and then its length is off (past the end, or short). */
  delimited(field: number, body: Buffer, faults: boolean): this {
    this.tag(field, LENGTH);
    let length = body.length;
    if (faults && chance(this.rng, 0.03)) {
      length = pick(this.rng, [length + 1, length + 1000, Math.max(0, length - 1), 2 ** 32 - 1]);
      if (chance(this.rng, 0.3)) return this.raw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]));
    }
    return this.varint(length).raw(body);
  }

  string(field: number, text: string, faults: boolean): this {
    const body =
      faults && chance(this.rng, 0.03)
        ? randomBytes(this.rng, 1 + this.rng.int(8))
        : Buffer.from(text);
    return this.delimited(field, body, faults);
  }

  /** A fault of the wire format itself, or an unknown field that must be skipped. */
  noise(): this {
    const rng = this.rng;
    switch (rng.int(7)) {
      case 0: // varint of 11 bytes
        return this.tag(1 + rng.int(6), VARINT).raw(Buffer.alloc(11, 0xff));
      case 1: // a wire type that does not exist, or groups
        return this.varint((1 + rng.int(20)) * 8 + pick(rng, [3, 4, 6, 7]));
      case 2:
        return this.tag(100 + rng.int(1000), VARINT).varint(BigInt.asUintN(64, -1n));
      case 3:
        return this.tag(100 + rng.int(1000), FIXED64).raw(randomBytes(rng, 8));
      case 4:
        return this.tag(100 + rng.int(1000), FIXED32).raw(randomBytes(rng, 4));
      case 5:
        return this.delimited(100 + rng.int(1000), randomBytes(rng, rng.int(20)), false);
      default: // field 0, or a field number past 2^29
        return this.varint(pick(rng, [0, 2, 2 ** 32, 2 ** 35 + 2]));
    }
  }
}

/** A field number's value written with the wrong wire type (type confusion). */
export function wrongType(w: WireWriter, rng: Rng, field: number): void {
  const wire = pick(rng, [VARINT, FIXED64, LENGTH, FIXED32]);
  w.tag(field, wire);
  if (wire === VARINT) w.varint(rng.nextUint32());
  else if (wire === FIXED64) w.raw(randomBytes(rng, 8));
  else if (wire === FIXED32) w.raw(randomBytes(rng, 4));
  else w.varint(3).raw(randomBytes(rng, 3));
}
