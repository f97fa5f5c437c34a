import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Rng } from '../core/stats/rng.js';
import { TINY_AUTOENCODER } from '../serving/test-models.js';
import { decodeOnnxGraph } from './onnx-graph.js';
import { compileGraph } from './onnx-interpreter.js';
import { encodeOnnxModel, ONNX_FLOAT, ONNX_INT64 } from './onnx-writer.js';
import { trainVectorAutoencoder, vectorAutoencoderToOnnx } from './vector-autoencoder.js';

/** The in-process interpreter against onnxruntime, on the same files and inputs. */
async function compareWithRuntime(bytes: Uint8Array, width: number, rows: number): Promise<void> {
  const compiled = compileGraph(decodeOnnxGraph(bytes, 'test'), width, 'test', 'reconstruction');
  const session = await InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const rng = Rng.fromSeed(9);
    const out = new Float64Array(width);
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      const x = Float32Array.from({ length: width }, () => rng.uniform(-3, 3));
      const feed = new Tensor('float32', x, [1, width]);
      const result = await session.run({ [session.inputNames[0]!]: feed });
      const expected = result[session.outputNames[0]!]!.data as Float32Array;
      compiled.run(Float64Array.from(x), out);
      for (let i = 0; i < width; i++) {
        const scale = Math.max(1, Math.abs(expected[i]!));
        worst = Math.max(worst, Math.abs(out[i]! - expected[i]!) / scale);
      }
    }
    // float32 (runtime) against float64 (interpreter) arithmetic on the same float32 weights.
    assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
  } finally {
    await session.release();
  }
}

test('the interpreter reproduces onnxruntime on a trained vector autoencoder', async () => {
  const rng = Rng.fromSeed(3);
  const rows = Array.from({ length: 300 }, (_, t) => {
    const load = Math.sin(t / 20) + 0.1 * rng.uniform(-1, 1);
    return [load, 2 * load + 0.1 * rng.uniform(-1, 1), 10 - load + 0.1 * rng.uniform(-1, 1)];
  });
  const model = trainVectorAutoencoder(rows, { window: 3, epochs: 5, activation: 'tanh' });
  await compareWithRuntime(vectorAutoencoderToOnnx(model), 9, 50);
});

test('the interpreter reproduces onnxruntime on linear and hybrid vector autoencoders', async () => {
  const rng = Rng.fromSeed(4);
  const rows = Array.from({ length: 300 }, (_, t) => {
    const load = Math.sin(t / 20) + 0.1 * rng.uniform(-1, 1);
    return [load, load * load + 0.1 * rng.uniform(-1, 1), 10 - load + 0.1 * rng.uniform(-1, 1)];
  });
  const linear = trainVectorAutoencoder(rows, { window: 3, epochs: 5, activation: 'linear' });
  assert.equal(linear.hidden, 7, 'three quarters of 9 inputs');
  await compareWithRuntime(vectorAutoencoderToOnnx(linear, ['a', 'b', 'c']), 9, 50);
  const hybrid = trainVectorAutoencoder(rows, {
    window: 3,
    epochs: 5,
    activation: 'hybrid',
    hidden: 7,
    linear_units: 5,
  });
  await compareWithRuntime(vectorAutoencoderToOnnx(hybrid), 9, 50);
});

test('the interpreter reproduces onnxruntime on the committed window autoencoder', async () => {
  await compareWithRuntime(new Uint8Array(readFileSync(TINY_AUTOENCODER)), 8, 50);
});

test('an operator outside the supported set is refused by name, as are int constants', () => {
  const exp = encodeOnnxModel({
    graphName: 'exp',
    nodes: [{ opType: 'Exp', inputs: ['window'], outputs: ['reconstruction'], name: 'e' }],
    initializers: [],
    inputs: [{ name: 'window', elemType: ONNX_FLOAT, dims: ['N', 4] }],
    outputs: [{ name: 'reconstruction', elemType: ONNX_FLOAT, dims: ['N', 4] }],
    metadata: [],
  });
  assert.throws(
    () => compileGraph(decodeOnnxGraph(exp, 'exp.onnx'), 4, 'exp.onnx', 'reconstruction'),
    {
      code: 'VIGIL_ERR_MODEL_INVALID',
      message: /exp\.onnx: operator Exp is not supported .*supported: Add, Sub/,
    },
  );
  const ints = encodeOnnxModel({
    graphName: 'ints',
    nodes: [{ opType: 'Add', inputs: ['window', 'one'], outputs: ['reconstruction'], name: 'a' }],
    initializers: [{ name: 'one', dims: [1], data: BigInt64Array.of(1n) }],
    inputs: [{ name: 'window', elemType: ONNX_INT64, dims: ['N', 4] }],
    outputs: [{ name: 'reconstruction', elemType: ONNX_INT64, dims: ['N', 4] }],
    metadata: [],
  });
  assert.throws(() => decodeOnnxGraph(ints, 'ints.onnx'), /constant "one" has element type 7/);
  assert.throws(() => decodeOnnxGraph(Uint8Array.of(0x0a, 0x05, 1), 'junk.onnx'), {
    code: 'VIGIL_ERR_MODEL_INVALID',
    message: /junk\.onnx: malformed ONNX file/,
  });
});

test('shapes that do not fit are refused when compiled', () => {
  const wide = encodeOnnxModel({
    graphName: 'wide',
    nodes: [{ opType: 'MatMul', inputs: ['window', 'w'], outputs: ['reconstruction'], name: 'm' }],
    initializers: [{ name: 'w', dims: [4, 5], data: new Float32Array(20) }],
    inputs: [{ name: 'window', elemType: ONNX_FLOAT, dims: ['N', 4] }],
    outputs: [{ name: 'reconstruction', elemType: ONNX_FLOAT, dims: ['N', 5] }],
    metadata: [],
  });
  const graph = decodeOnnxGraph(wide, 'wide.onnx');
  assert.throws(
    () => compileGraph(graph, 4, 'wide.onnx', 'reconstruction'),
    /has shape \[1, 5\] for an input of \[1, 4\]/,
  );
  assert.throws(
    () => compileGraph(graph, 3, 'wide.onnx', 'reconstruction'),
    /MatMul of shapes \[1, 3\] and \[4, 5\]/,
  );
});

test('Gemm with a broadcast bias, Relu and Sigmoid match onnxruntime', async () => {
  const rng = Rng.fromSeed(4);
  const weights = (n: number): Float32Array =>
    Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  const bytes = encodeOnnxModel({
    graphName: 'gemm',
    nodes: [
      { opType: 'Gemm', inputs: ['window', 'w1', 'b1'], outputs: ['h'], name: 'g1' },
      { opType: 'Relu', inputs: ['h'], outputs: ['r'], name: 'relu' },
      { opType: 'Gemm', inputs: ['r', 'w2'], outputs: ['z'], name: 'g2' },
      { opType: 'Sigmoid', inputs: ['z'], outputs: ['reconstruction'], name: 'sig' },
    ],
    initializers: [
      { name: 'w1', dims: [6, 3], data: weights(18) },
      { name: 'b1', dims: [3], data: weights(3) },
      { name: 'w2', dims: [3, 6], data: weights(18) },
    ],
    inputs: [{ name: 'window', elemType: ONNX_FLOAT, dims: ['N', 6] }],
    outputs: [{ name: 'reconstruction', elemType: ONNX_FLOAT, dims: ['N', 6] }],
    metadata: [],
  });
  await compareWithRuntime(bytes, 6, 30);
});
