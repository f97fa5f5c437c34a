import type { TrainedAutoencoder } from './autoencoder-train.js';
import {
  META_COLUMN,
  META_EPOCHS,
  META_ERROR_BOUNDARY,
  META_ERROR_TYPICAL,
  META_HIDDEN,
  META_MEAN,
  META_MODEL,
  META_SEED,
  META_STD,
  META_TRAIN_LOSS,
  META_TRAIN_WINDOWS,
  META_WINDOW,
  WINDOW_AUTOENCODER,
} from './model-metadata.js';
import { ProtoWriter } from './protobuf-wire.js';

/**
 * Writes ONNX model files (ModelProto, onnx/onnx.proto) for small graphs built here: Vigil's own
 * autoencoders, and in tests models that are wrong on purpose. Only the fields those graphs need
 * are written; field numbers follow onnx.proto.
 */

/** TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
export const ONNX_DOUBLE = 11;

/** IR version 8 (ONNX 1.12) with default-domain opset 17: both read by every current runtime. */
export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

/** A graph input or output: element type and shape; a string dimension is symbolic. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: number;
  /** Omitted: the shape is left undeclared (not the same as `[]`, a scalar). */
  readonly dims?: readonly (number | string)[];
}

/** A constant (initializer): float32, or int64 for shape-like operands. */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

export interface OnnxNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
}

export interface OnnxModelSpec {
  readonly graphName: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** `metadata_props`, written in this order. */
  readonly metadata: readonly (readonly [string, string])[];
  readonly docString?: string;
}

/** Encodes a model; the same spec always gives the same bytes (nothing time- or host-dependent). */
export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const node of spec.nodes) graph.message(1, encodeNode(node));
  graph.string(2, spec.graphName);
  for (const init of spec.initializers) graph.message(5, encodeInitializer(init));
  for (const input of spec.inputs) graph.message(11, encodeValueInfo(input));
  for (const output of spec.outputs) graph.message(12, encodeValueInfo(output));

  const model = new ProtoWriter()
    .varint(1, IR_VERSION)
    .string(2, 'vigil')
    .string(3, '1')
    .string(4, 'dev.vigil');
  if (spec.docString !== undefined) model.string(6, spec.docString);
  model.message(7, graph);
  model.message(8, new ProtoWriter().string(1, '').varint(2, OPSET_VERSION));
  for (const [key, value] of spec.metadata) {
    model.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return model.finish();
}

function encodeNode(node: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  return w;
}

function encodeInitializer(init: OnnxInitializer): ProtoWriter {
  const count = init.dims.reduce((a, b) => a * b, 1);
  if (count !== init.data.length) {
    throw new RangeError(`initializer ${init.name}: ${init.data.length} values for ${count}`);
  }
  const w = new ProtoWriter();
  for (const d of init.dims) w.varint(1, d);
  const data = init.data;
  w.varint(2, data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64).string(8, init.name);
  // raw_data is little-endian by the ONNX spec, whatever the host's byte order.
  const raw = new Uint8Array(data.length * data.BYTES_PER_ELEMENT);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i]!, true);
    else view.setBigInt64(i * 8, data[i]!, true);
  }
  w.bytes(9, raw);
  return w;
}

function encodeValueInfo(info: OnnxValueInfo): ProtoWriter {
  const tensorType = new ProtoWriter().varint(1, info.elemType);
  if (info.dims !== undefined) {
    const shape = new ProtoWriter();
    for (const d of info.dims) {
      const dim = new ProtoWriter();
      shape.message(1, typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d));
    }
    tensorType.message(2, shape);
  }
  return new ProtoWriter()
    .string(1, info.name)
    .message(2, new ProtoWriter().message(1, tensorType));
}

/** Name of the input and output of the graphs Vigil writes (the contract in docs/models.md). */
export const INPUT_NAME = 'window';
export const OUTPUT_NAME = 'reconstruction';

/**
 * The autoencoder as an ONNX graph that takes raw values and returns raw values, so the
 * standardisation travels with the model and any runtime reproduces `reconstruct`:
 * window → Sub mean → Div std → MatMul w1 → Add b1 → Tanh → MatMul w2 → Add b2 → Mul std → Add mean.
 * The batch dimension is symbolic (`N`).
 */
export function autoencoderToOnnx(model: TrainedAutoencoder, column?: string): Uint8Array {
  const { window: W, hidden: H } = model;
  const t = model.training;
  const metadata: [string, string][] = [
    [META_MODEL, WINDOW_AUTOENCODER],
    [META_WINDOW, String(W)],
    [META_ERROR_BOUNDARY, String(t.calibration.boundary)],
    [META_ERROR_TYPICAL, String(t.calibration.typical)],
    [META_HIDDEN, String(H)],
    [META_EPOCHS, String(t.epochs)],
    [META_SEED, String(t.seed)],
    [META_TRAIN_WINDOWS, String(t.windows)],
    [META_TRAIN_LOSS, String(t.finalLoss)],
    [META_MEAN, String(model.mean)],
    [META_STD, String(model.std)],
  ];
  if (column !== undefined) metadata.push([META_COLUMN, column]);
  const node = (opType: string, inputs: string[], output: string): OnnxNode => ({
    opType,
    inputs,
    outputs: [output],
    name: `${output}_${opType.toLowerCase()}`,
  });
  return encodeOnnxModel({
    graphName: 'vigil_window_autoencoder',
    docString: `Dense autoencoder ${W}-${H}-${W} (tanh) over windows of ${W} points, trained by Vigil`,
    nodes: [
      node('Sub', [INPUT_NAME, 'mean'], 'centred'),
      node('Div', ['centred', 'std'], 'scaled'),
      node('MatMul', ['scaled', 'w1'], 'encoded_linear'),
      node('Add', ['encoded_linear', 'b1'], 'encoded_biased'),
      node('Tanh', ['encoded_biased'], 'code'),
      node('MatMul', ['code', 'w2'], 'decoded_linear'),
      node('Add', ['decoded_linear', 'b2'], 'decoded'),
      node('Mul', ['decoded', 'std'], 'rescaled'),
      node('Add', ['rescaled', 'mean'], OUTPUT_NAME),
    ],
    initializers: [
      { name: 'mean', dims: [1], data: Float32Array.of(model.mean) },
      { name: 'std', dims: [1], data: Float32Array.of(model.std) },
      { name: 'w1', dims: [W, H], data: model.w1 },
      { name: 'b1', dims: [H], data: model.b1 },
      { name: 'w2', dims: [H, W], data: model.w2 },
      { name: 'b2', dims: [W], data: model.b2 },
    ],
    inputs: [{ name: INPUT_NAME, elemType: ONNX_FLOAT, dims: ['N', W] }],
    outputs: [{ name: OUTPUT_NAME, elemType: ONNX_FLOAT, dims: ['N', W] }],
    metadata,
  });
}
