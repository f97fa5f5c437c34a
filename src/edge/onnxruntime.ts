/**
 * `onnxruntime-node` in the edge build (the bundle maps the package here). Its native library
 * (~45 MB for linux-x64) is left out of the executable: it is loaded from `node_modules/onnxruntime-node` beside
 * the executable when there is one; without it everything else runs, and only ONNX models
 * (`vigil model`, model serving) are refused, the message naming what to add.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { VigilError } from '../errors.js';

type Ort = typeof import('onnxruntime-node');

function load(): Ort | undefined {
  try {
    return createRequire(path.join(path.dirname(process.execPath), 'package.json'))(
      'onnxruntime-node',
    ) as Ort;
  } catch {
    return undefined;
  }
}

function absent(): VigilError {
  return new VigilError(
    'VIGIL_ERR_CONFIG',
    `ONNX models need onnxruntime-node, which the edge build leaves out: put node_modules/onnxruntime-node beside ${process.execPath}`,
  );
}

const ort = load();

export const InferenceSession: Ort['InferenceSession'] =
  ort?.InferenceSession ??
  ({
    create: () => Promise.reject(absent()),
  } as unknown as Ort['InferenceSession']);

export const Tensor: Ort['Tensor'] =
  ort?.Tensor ??
  (class {
    constructor() {
      throw absent();
    }
  } as unknown as Ort['Tensor']);
