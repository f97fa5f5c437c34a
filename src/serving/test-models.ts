/**
 * Small ONNX models for the serving tests and benchmark, written with Vigil's own ONNX writer
 * (src/models/onnx-writer.ts): each exercises one part of the contract — element types, several
 * inputs and outputs, fixed and symbolic dims, and a model that loads but cannot run.
 */
import { fileURLToPath } from 'node:url';
import { encodeOnnxModel, ONNX_FLOAT, ONNX_INT64 } from '../models/onnx-writer.js';

/** The autoencoder trained and written by Vigil (W = 8, input `window` [N, 8]). */
export const TINY_AUTOENCODER = fileURLToPath(
  new URL('../../src/models/fixtures/tiny-autoencoder.onnx', import.meta.url),
);

/**
 * `y = x * scale + bias` on `x` float32 [N, width], and `k_next = k + 1` on `k` int64 [N, 2]:
 * two inputs sharing the symbolic `N`, two outputs of different types. `version` goes into
 * `metadata_props`.
 */
export function affineModel(options: {
  scale: number;
  bias: number;
  width?: number;
  version?: string;
}): Uint8Array {
  const width = options.width ?? 4;
  return encodeOnnxModel({
    graphName: 'affine',
    nodes: [
      { opType: 'Mul', inputs: ['x', 'scale'], outputs: ['scaled'], name: 'mul' },
      { opType: 'Add', inputs: ['scaled', 'bias'], outputs: ['y'], name: 'add' },
      { opType: 'Add', inputs: ['k', 'one'], outputs: ['k_next'], name: 'inc' },
    ],
    initializers: [
      { name: 'scale', dims: [1], data: Float32Array.of(options.scale) },
      { name: 'bias', dims: [1], data: Float32Array.of(options.bias) },
      { name: 'one', dims: [1], data: BigInt64Array.of(1n) },
    ],
    inputs: [
      { name: 'x', elemType: ONNX_FLOAT, dims: ['N', width] },
      { name: 'k', elemType: ONNX_INT64, dims: ['N', 2] },
    ],
    outputs: [
      { name: 'y', elemType: ONNX_FLOAT, dims: ['N', width] },
      { name: 'k_next', elemType: ONNX_INT64, dims: ['N', 2] },
    ],
    metadata: options.version === undefined ? [] : [['version', options.version]],
  });
}

/** `y = x + 1` on a fully fixed `x` float32 [1, 3]. */
export function fixedModel(): Uint8Array {
  return encodeOnnxModel({
    graphName: 'fixed',
    nodes: [{ opType: 'Add', inputs: ['x', 'one'], outputs: ['y'], name: 'add' }],
    initializers: [{ name: 'one', dims: [1], data: Float32Array.of(1) }],
    inputs: [{ name: 'x', elemType: ONNX_FLOAT, dims: [1, 3] }],
    outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: [1, 3] }],
    metadata: [],
  });
}

/**
 * Loads (the symbolic `N` hides the problem from shape inference) but every run fails: it
 * reshapes the 4·N values of `x` [N, 4] into 3.
 */
export function failsAtRunModel(): Uint8Array {
  return encodeOnnxModel({
    graphName: 'fails_at_run',
    nodes: [{ opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'], name: 'reshape' }],
    initializers: [{ name: 'shape', dims: [1], data: BigInt64Array.of(3n) }],
    inputs: [{ name: 'x', elemType: ONNX_FLOAT, dims: ['N', 4] }],
    outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: [3] }],
    metadata: [],
  });
}
