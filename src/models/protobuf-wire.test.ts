import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtoDecodeError, ProtoWriter, decodeString, readFields } from './protobuf-wire.js';

test('varints, strings and nested messages read back as written', () => {
  const big = 2 ** 53 - 1;
  const bytes = new ProtoWriter()
    .varint(1, 0)
    .varint(2, 300)
    .varint(3, big)
    .string(4, 'fenêtre')
    .message(5, new ProtoWriter().varint(1, 7))
    .finish();
  const fields = readFields(bytes);
  assert.deepEqual(
    fields.map((f) => [f.field, f.kind]),
    [
      [1, 'varint'],
      [2, 'varint'],
      [3, 'varint'],
      [4, 'bytes'],
      [5, 'bytes'],
    ],
  );
  const values = fields.map((f) => (f.kind === 'varint' ? f.value : undefined));
  assert.deepEqual(values.slice(0, 3), [0, 300, big]);
  const text = fields[3]!;
  assert.ok(text.kind === 'bytes');
  assert.equal(decodeString(text.value), 'fenêtre');
  const inner = fields[4]!;
  assert.ok(inner.kind === 'bytes');
  assert.deepEqual(readFields(inner.value), [{ field: 1, kind: 'varint', value: 7 }]);
});

test('300 is encoded as the two bytes the protobuf spec shows', () => {
  assert.deepEqual([...new ProtoWriter().varint(1, 300).finish()], [0x08, 0xac, 0x02]);
});

test('malformed messages are ProtoDecodeErrors, never out-of-bounds reads', () => {
  const cases: [string, number[]][] = [
    ['truncated varint', [0x08, 0x80]],
    ['length past the end', [0x22, 0x05, 0x61]],
    ['field number 0', [0x00, 0x01]],
    ['group wire type', [0x0b]],
    ['truncated fixed64', [0x09, 1, 2, 3]],
    ['eleven-byte varint', [0x08, ...new Array<number>(10).fill(0xff), 0x01]],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(() => readFields(Uint8Array.from(bytes)), ProtoDecodeError, what);
  }
  assert.throws(() => decodeString(Uint8Array.of(0xff, 0xfe)), ProtoDecodeError);
});

test('negative and fractional varints are refused when writing', () => {
  assert.throws(() => new ProtoWriter().varint(1, -1), RangeError);
  assert.throws(() => new ProtoWriter().varint(1, 1.5), RangeError);
});
