import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from 'onnxruntime-node';
import { VigilError } from '../errors.js';
import { readInputs, writeTensor, zeroInputs, type TensorSignature } from './tensor-json.js';

const limits = { maxElements: 1000 };
const sig = (name: string, type: TensorSignature['type'], shape: (number | string)[]) => ({
  name,
  type,
  shape,
});

function rejects(inputs: unknown, sigs: TensorSignature[], message: RegExp): void {
  assert.throws(
    () => readInputs(inputs, sigs, limits),
    (err: unknown) =>
      err instanceof VigilError &&
      err.code === 'VIGIL_ERR_TENSOR_INVALID' &&
      message.test(err.message),
  );
}

test('each element type is read into its typed array, and range-checked', () => {
  const sigs = [
    sig('b', 'bool', [2]),
    sig('i8', 'int8', [2]),
    sig('u16', 'uint16', ['n']),
    sig('u64', 'uint64', [2]),
    sig('s', 'string', []),
    sig('d', 'float64', [1]),
  ];
  const feeds = readInputs(
    {
      b: [true, false],
      i8: [-128, 127],
      u16: [0, 65535, 7],
      u64: [1, '18446744073709551615'],
      s: 'hello',
      d: [1e300],
    },
    sigs,
    limits,
  );
  assert.deepEqual(Array.from(feeds.b!.data as Uint8Array), [1, 0]);
  assert.ok(feeds.i8!.data instanceof Int8Array);
  assert.deepEqual(feeds.u16!.dims, [3]);
  assert.deepEqual(Array.from(feeds.u64!.data as BigUint64Array), [1n, 2n ** 64n - 1n]);
  assert.deepEqual(feeds.s!.dims, []);
  assert.deepEqual(feeds.s!.data, ['hello']);
  assert.equal((feeds.d!.data as Float64Array)[0], 1e300);

  rejects(
    { x: [128] },
    [sig('x', 'int8', [1])],
    /data\[0\] is 128, expected an int8 integer in -128…127/,
  );
  rejects({ x: [-1] }, [sig('x', 'uint8', [1])], /expected an uint8 integer in 0…255/);
  rejects({ x: ['-1'] }, [sig('x', 'uint64', [1])], /data\[0\] is "-1", expected an uint64/);
  rejects({ x: [2 ** 53 + 2] }, [sig('x', 'int64', [1])], /expected an int64 \(a safe integer/);
  rejects({ x: [1] }, [sig('x', 'bool', [1])], /data\[0\] is 1, expected true or false/);
  rejects({ x: [1] }, [sig('x', 'string', [1])], /data\[0\] is 1, expected a string/);
  rejects(
    { x: [[1]] },
    [sig('x', 'float32', [1])],
    /rank 2 \(dims \[1, 1\]\), the model expects rank 1/,
  );
  rejects(
    { x: [[1], 2] },
    [sig('x', 'float32', ['n', 1])],
    /ragged nested array: \[1\] has a single value/,
  );
});

test('the element limit is checked from the dims before anything is allocated', () => {
  assert.throws(
    () =>
      readInputs(
        { x: { dims: [2 ** 30, 2 ** 30], data: [] } },
        [sig('x', 'float32', ['a', 'b'])],
        limits,
      ),
    (err: unknown) => err instanceof VigilError && err.code === 'VIGIL_ERR_PAYLOAD_TOO_LARGE',
  );
});

test('zeros of the declared shape with symbolic dims set to 1', () => {
  const feeds = zeroInputs([
    sig('x', 'float32', ['N', 3]),
    sig('m', 'bool', [2]),
    sig('t', 'string', ['']),
  ]);
  assert.deepEqual(feeds.x!.dims, [1, 3]);
  assert.deepEqual(Array.from(feeds.x!.data as Float32Array), [0, 0, 0]);
  assert.deepEqual(Array.from(feeds.m!.data as Uint8Array), [0, 0]);
  assert.deepEqual(feeds.t!.data, ['']);
});

test('outputs as JSON: non-finite floats are null, big int64 are strings, bools are booleans', () => {
  assert.deepEqual(writeTensor(new Tensor('float32', Float32Array.of(1.5, NaN, Infinity), [3])), {
    type: 'float32',
    dims: [3],
    data: [1.5, null, null],
  });
  assert.deepEqual(writeTensor(new Tensor('int64', BigInt64Array.of(-3n, 2n ** 62n), [2])).data, [
    -3,
    '4611686018427387904',
  ]);
  assert.deepEqual(writeTensor(new Tensor('bool', Uint8Array.of(1, 0), [2])).data, [true, false]);
});
