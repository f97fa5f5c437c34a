import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../core/stats/rng.js';
import { VigilError, type ErrorCode } from '../errors.js';
import { META_ERROR_BOUNDARY, META_WINDOW } from './model-metadata.js';
import { loadWindowModel, openWindowModel, readOnnxMetadata } from './onnx-session.js';
import {
  ONNX_FLOAT,
  ONNX_INT64,
  encodeOnnxModel,
  type OnnxModelSpec,
  type OnnxValueInfo,
} from './onnx-writer.js';
import {
  TEST_MODEL_FILE,
  TEST_VECTORS_FILE,
  buildTestVectors,
  type TestVectors,
} from './reference-vectors.js';

const FIXTURES = new URL('../../src/models/fixtures/', import.meta.url);

async function committed(): Promise<{ model: Uint8Array; vectors: TestVectors }> {
  const model = new Uint8Array(await readFile(new URL(TEST_MODEL_FILE, FIXTURES)));
  const text = await readFile(new URL(TEST_VECTORS_FILE, FIXTURES), 'utf8');
  return { model, vectors: JSON.parse(text) as TestVectors };
}

test('operator consistency: onnxruntime reproduces the committed test vectors', async () => {
  const { model: bytes, vectors } = await committed();
  const model = await openWindowModel(bytes, TEST_MODEL_FILE);
  try {
    assert.equal(model.window, vectors.window);
    const W = vectors.window;
    const input = Float32Array.from(vectors.cases.flatMap((c) => c.input));
    const output = await model.reconstruct(input, vectors.cases.length);
    vectors.cases.forEach((c, n) => {
      for (let i = 0; i < W; i++) {
        const expected = c.reconstruction[i]!;
        const got = output[n * W + i]!;
        // float32 arithmetic in a different order: a few ulps of the values involved.
        const tol = 1e-5 * Math.max(1, Math.abs(expected), Math.abs(c.input[i]!));
        assert.ok(Math.abs(got - expected) <= tol, `${c.name}[${i}]: ${got} vs ${expected}`);
      }
    });
  } finally {
    await model.release();
  }
});

test('rebuilding the test vectors gives the committed bytes (training and writer are deterministic)', async () => {
  const { model, vectors } = await committed();
  const rebuilt = buildTestVectors();
  assert.deepEqual(
    rebuilt.model,
    model,
    'the ONNX bytes changed: if intended, run node dist/models/make-reference-vectors.js',
  );
  assert.deepEqual(rebuilt.vectors, vectors);
});

test('the committed model carries its window and calibration as metadata', async () => {
  const { model: bytes } = await committed();
  const metadata = readOnnxMetadata(bytes, TEST_MODEL_FILE);
  assert.equal(metadata.get(META_WINDOW), '8');
  assert.ok(Number(metadata.get(META_ERROR_BOUNDARY)) > 0);
  const model = await openWindowModel(bytes, TEST_MODEL_FILE);
  assert.ok(
    model.calibration !== undefined && model.calibration.boundary > model.calibration.typical,
  );
  assert.equal(model.fixedBatch, undefined, 'the batch dimension is symbolic');
  await model.release();
});

/** An identity-like model: out = in + 0 (an Add with a zero initializer of the given shape). */
function passThrough(
  input: Partial<OnnxValueInfo>,
  output: Partial<OnnxValueInfo> = {},
  extra: Partial<OnnxModelSpec> = {},
): Uint8Array {
  const inputInfo = { name: 'window', elemType: ONNX_FLOAT, dims: ['N', 4], ...input };
  return encodeOnnxModel({
    graphName: 'pass_through',
    nodes: [
      { opType: 'Identity', inputs: [inputInfo.name], outputs: ['reconstruction'], name: 'id' },
    ],
    initializers: [],
    inputs: [inputInfo],
    outputs: [
      { name: 'reconstruction', elemType: inputInfo.elemType, dims: inputInfo.dims, ...output },
    ],
    metadata: [],
    ...extra,
  });
}

async function failure(
  bytes: Uint8Array,
  options: { window?: number } = {},
): Promise<{ code: ErrorCode; message: string }> {
  try {
    const model = await openWindowModel(bytes, 'test.onnx', options);
    await model.release();
  } catch (err) {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    return { code: err.code, message: err.message };
  }
  assert.fail('the model was accepted');
}

test('a model of the wrong shape or type is refused at load with a clear message', async () => {
  const cases: [string, Uint8Array, { window?: number }, RegExp][] = [
    [
      'rank 3 input',
      passThrough({ dims: ['N', 4, 1] }),
      {},
      /float32 tensor \[batch, window\], found float32 \[N, 4, 1\]/,
    ],
    ['rank 1 input', passThrough({ dims: [4] }), {}, /found float32 \[4\]/],
    ['int64 input', passThrough({ elemType: ONNX_INT64 }), {}, /found int64 \[N, 4\]/],
    [
      'declared window differs',
      passThrough({}),
      { window: 5 },
      /takes windows of 4 points, but the window length asked for is 5/,
    ],
    [
      'metadata window differs',
      passThrough({}, {}, { metadata: [[META_WINDOW, '6']] }),
      {},
      /takes windows of 4 points, but metadata vigil.window is 6/,
    ],
    [
      'symbolic window, nothing declared',
      passThrough({ dims: ['N', 'W'] }),
      {},
      /symbolic window dimension/,
    ],
    [
      'declared output shape differs',
      widen(['N', 8]),
      {},
      /output "reconstruction" must have the input's shape \[batch, 4\], found float32 \[N, 8\]/,
    ],
    [
      'bad calibration metadata',
      passThrough({}, {}, { metadata: [[META_ERROR_BOUNDARY, 'lots']] }),
      {},
      /vigil.error_boundary is "lots"/,
    ],
  ];
  for (const [what, bytes, options, message] of cases) {
    const { code, message: got } = await failure(bytes, options);
    assert.equal(code, 'VIGIL_ERR_MODEL_INVALID', what);
    assert.match(got, message, what);
  }
});

test('a model the runtime itself rejects (unknown operator) is reported the same way', async () => {
  const { code, message } = await failure(
    encodeOnnxModel({
      graphName: 'bad_op',
      nodes: [
        { opType: 'NoSuchOperator', inputs: ['window'], outputs: ['reconstruction'], name: 'x' },
      ],
      initializers: [],
      inputs: [{ name: 'window', elemType: ONNX_FLOAT, dims: ['N', 4] }],
      outputs: [{ name: 'reconstruction', elemType: ONNX_FLOAT, dims: ['N', 4] }],
      metadata: [],
    }),
  );
  assert.equal(code, 'VIGIL_ERR_MODEL_INVALID');
  assert.match(message, /^test\.onnx: not a loadable ONNX model \(.+\)$/);
});

test('corrupt files are VIGIL_ERR_MODEL_INVALID, never a crash', async () => {
  const rng = Rng.fromSeed(99);
  const { model: good } = await committed();
  const samples: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['truncated', good.subarray(0, Math.floor(good.length / 2))],
    ['text', new TextEncoder().encode('timestamp,value\n1,2\n')],
  ];
  for (let k = 0; k < 20; k++) {
    samples.push([
      `random ${k}`,
      Uint8Array.from({ length: 64 + rng.int(4000) }, () => rng.int(256)),
    ]);
  }
  for (const [what, bytes] of samples) {
    const { code } = await failure(bytes);
    assert.equal(code, 'VIGIL_ERR_MODEL_INVALID', what);
  }
});

test('a missing model file is VIGIL_ERR_MODEL_NOT_FOUND', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-model-'));
  await assert.rejects(loadWindowModel(path.join(dir, 'absent.onnx')), (err: unknown) => {
    assert.ok(err instanceof VigilError);
    assert.equal(err.code, 'VIGIL_ERR_MODEL_NOT_FOUND');
    assert.match(err.message, /absent\.onnx: cannot read the model: no such file/);
    return true;
  });
  const file = path.join(dir, 'pass.onnx');
  await writeFile(file, passThrough({}));
  const model = await loadWindowModel(file);
  assert.equal(model.window, 4);
  await model.release();
});

test('an output whose real shape differs from the input is caught when it runs', async () => {
  // Reshape to the input's shape reversed: [N, 4] becomes [4, N]. The target shape is computed
  // from the data, so the runtime cannot tell the output's dimensions before running.
  const bytes = encodeOnnxModel({
    graphName: 'transpose_by_reshape',
    nodes: [
      { opType: 'Shape', inputs: ['window'], outputs: ['shape'], name: 'shape' },
      {
        opType: 'Slice',
        inputs: ['shape', 'starts', 'ends', 'axes', 'steps'],
        outputs: ['reversed'],
        name: 'reverse',
      },
      {
        opType: 'Reshape',
        inputs: ['window', 'reversed'],
        outputs: ['reconstruction'],
        name: 'rs',
      },
    ],
    initializers: [
      { name: 'starts', dims: [1], data: BigInt64Array.of(1n) },
      { name: 'ends', dims: [1], data: BigInt64Array.of(-3n) },
      { name: 'axes', dims: [1], data: BigInt64Array.of(0n) },
      { name: 'steps', dims: [1], data: BigInt64Array.of(-1n) },
    ],
    inputs: [{ name: 'window', elemType: ONNX_FLOAT, dims: ['N', 4] }],
    outputs: [{ name: 'reconstruction', elemType: ONNX_FLOAT }],
    metadata: [],
  });
  const model = await openWindowModel(bytes, 'reshape.onnx');
  try {
    assert.equal((await model.reconstruct(new Float32Array(16), 4)).length, 16, 'square: fine');
    await assert.rejects(model.reconstruct(new Float32Array(8), 2), (err: unknown) => {
      assert.ok(err instanceof VigilError);
      assert.equal(err.code, 'VIGIL_ERR_MODEL_INVALID');
      assert.match(err.message, /output shape mismatch: \[4, 2\] for an input of \[2, 4\]/);
      return true;
    });
  } finally {
    await model.release();
  }
});

/** window [N, 4] → MatMul by a 4×8 matrix → [N, 8], declared as such. */
function widen(dims: readonly (number | string)[]): Uint8Array {
  return encodeOnnxModel({
    graphName: 'widen',
    nodes: [{ opType: 'MatMul', inputs: ['window', 'm'], outputs: ['reconstruction'], name: 'mm' }],
    initializers: [{ name: 'm', dims: [4, 8], data: new Float32Array(32).fill(1) }],
    inputs: [{ name: 'window', elemType: ONNX_FLOAT, dims: ['N', 4] }],
    outputs: [{ name: 'reconstruction', elemType: ONNX_FLOAT, dims }],
    metadata: [],
  });
}
