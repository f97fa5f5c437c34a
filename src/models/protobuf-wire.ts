/**
 * The protobuf wire format, only as far as ONNX files need it: writing a ModelProto and reading a
 * few top-level fields back. Hand-written because the subset is tiny (varints, length-delimited
 * fields, fixed 32/64-bit skips), while the npm packages that ship the ONNX schema are unmaintained
 * and pull in a whole protobuf runtime.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Builds one message. Field order is the call order, so equal calls give equal bytes. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  /** A varint field (int32/int64/enum/bool). Only non-negative integers up to 2^53 occur here. */
  varint(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH);
    this.rawVarint(value.length);
    this.push(value);
    return this;
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`protobuf varint out of range: ${value}`);
    }
    const bytes: number[] = [];
    let v = value;
    // Division, not bit operations: JavaScript shifts are 32-bit and values here reach 2^53.
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    this.push(Uint8Array.from(bytes));
  }

  private push(part: Uint8Array): void {
    this.parts.push(part);
    this.size += part.length;
  }
}

/** One field as found on the wire: varints as numbers, length-delimited fields as byte views. */
export type ProtoField =
  | { readonly field: number; readonly kind: 'varint'; readonly value: number }
  | { readonly field: number; readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly field: number; readonly kind: 'fixed' };

/** Thrown for bytes that are not a well-formed protobuf message. */
export class ProtoDecodeError extends Error {
  override readonly name = 'ProtoDecodeError';
}

/** Splits one message into its fields, checking every length against the buffer. */
export function readFields(buffer: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buffer.length) throw new ProtoDecodeError('truncated varint');
      const byte = buffer[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  };
  while (pos < buffer.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new ProtoDecodeError('field number 0');
    if (wireType === WIRE_VARINT) {
      fields.push({ field, kind: 'varint', value: varint() });
    } else if (wireType === WIRE_LENGTH) {
      const length = varint();
      if (length > buffer.length - pos) throw new ProtoDecodeError('length past end of message');
      fields.push({ field, kind: 'bytes', value: buffer.subarray(pos, pos + length) });
      pos += length;
    } else if (wireType === WIRE_FIXED64 || wireType === WIRE_FIXED32) {
      pos += wireType === WIRE_FIXED64 ? 8 : 4;
      if (pos > buffer.length) throw new ProtoDecodeError('truncated fixed-width field');
      fields.push({ field, kind: 'fixed' });
    } else {
      throw new ProtoDecodeError(`unsupported wire type ${wireType}`);
    }
  }
  return fields;
}

export function decodeString(bytes: Uint8Array): string {
  try {
    return textDecoder.decode(bytes);
  } catch (err) {
    throw new ProtoDecodeError('string field is not UTF-8', { cause: err });
  }
}
