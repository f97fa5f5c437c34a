import { VigilError } from '../errors.js';
import { ProtoDecodeError, decodeString, readFields, type ProtoField } from './protobuf-wire.js';

/**
 * The parts of an ONNX file (ModelProto, onnx/onnx.proto) that the in-process interpreter
 * (onnx-interpreter.ts) needs: the graph's nodes with their integer attributes, its float
 * constants, its inputs and outputs with their shapes, and `metadata_props`. Field numbers follow
 * onnx.proto. Anything the interpreter could not honour exactly (external data, float attributes,
 * non-float constants) is refused here with a message naming it.
 */

export interface GraphNode {
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Integer attributes (e.g. Gemm's `transB`), by name. */
  readonly ints: ReadonlyMap<string, number>;
  /** Names of attributes that are not plain integers (floats, tensors, strings…). */
  readonly otherAttributes: readonly string[];
}

export interface GraphConstant {
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

export interface GraphValue {
  readonly name: string;
  readonly elemType: number;
  /** Per dimension a size, or a string for a symbolic one ('' when unnamed); undefined: no shape. */
  readonly dims: readonly (number | string)[] | undefined;
}

export interface OnnxGraph {
  readonly nodes: readonly GraphNode[];
  readonly constants: ReadonlyMap<string, GraphConstant>;
  /** Graph inputs that are not constants (older files list initializers as inputs too). */
  readonly inputs: readonly GraphValue[];
  readonly outputs: readonly GraphValue[];
  readonly metadata: ReadonlyMap<string, string>;
}

const FLOAT = 1;
const DOUBLE = 11;

/** Decodes a model file; malformed or unsupported content is VIGIL_ERR_MODEL_INVALID. */
export function decodeOnnxGraph(bytes: Uint8Array, source: string): OnnxGraph {
  const invalid = (what: string, cause?: unknown): VigilError =>
    new VigilError('VIGIL_ERR_MODEL_INVALID', `${source}: ${what}`, { cause });
  try {
    let graphBytes: Uint8Array | undefined;
    const metadata = new Map<string, string>();
    for (const f of readFields(bytes)) {
      if (f.kind !== 'bytes') continue;
      if (f.field === 7) graphBytes = f.value;
      else if (f.field === 14) {
        const entry = strings(readFields(f.value));
        metadata.set(entry.get(1)?.[0] ?? '', entry.get(2)?.[0] ?? '');
      }
    }
    if (graphBytes === undefined) throw invalid('not an ONNX model (no graph)');
    const nodes: GraphNode[] = [];
    const constants = new Map<string, GraphConstant>();
    const declared: GraphValue[] = [];
    const outputs: GraphValue[] = [];
    for (const f of readFields(graphBytes)) {
      if (f.kind !== 'bytes') continue;
      if (f.field === 1) nodes.push(decodeNode(f.value));
      else if (f.field === 5) {
        const [name, constant] = decodeTensor(f.value, invalid);
        constants.set(name, constant);
      } else if (f.field === 11) declared.push(decodeValue(f.value));
      else if (f.field === 12) outputs.push(decodeValue(f.value));
    }
    const inputs = declared.filter((v) => !constants.has(v.name));
    return { nodes, constants, inputs, outputs, metadata };
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw invalid(`malformed ONNX file (${err.message})`, err);
    throw err;
  }
}

/** Length-delimited fields decoded as strings, by field number. */
function strings(fields: readonly ProtoField[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const f of fields) {
    if (f.kind !== 'bytes') continue;
    const list = out.get(f.field) ?? [];
    list.push(decodeString(f.value));
    out.set(f.field, list);
  }
  return out;
}

function decodeNode(bytes: Uint8Array): GraphNode {
  const fields = readFields(bytes);
  const s = strings(fields);
  const ints = new Map<string, number>();
  const otherAttributes: string[] = [];
  for (const f of fields) {
    if (f.kind !== 'bytes' || f.field !== 5) continue;
    const attr = readFields(f.value);
    const name = strings(attr).get(1)?.[0] ?? '';
    const int = attr.find((a) => a.field === 3 && a.kind === 'varint');
    // Only `i` and the attribute's own name/type are understood; anything else is reported.
    const other = attr.some((a) => a.field !== 1 && a.field !== 3 && a.field !== 20);
    if (int?.kind === 'varint' && !other) ints.set(name, int.value);
    else otherAttributes.push(name);
  }
  return {
    opType: s.get(4)?.[0] ?? '',
    domain: s.get(7)?.[0] ?? '',
    inputs: s.get(1) ?? [],
    outputs: s.get(2) ?? [],
    ints,
    otherAttributes,
  };
}

function decodeTensor(
  bytes: Uint8Array,
  invalid: (what: string) => VigilError,
): [string, GraphConstant] {
  const dims: number[] = [];
  let type = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  let packedFloats: Uint8Array | undefined;
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.kind === 'varint') dims.push(f.value);
    else if (f.field === 1 && f.kind === 'bytes') dims.push(...packedVarints(f.value));
    else if (f.field === 2 && f.kind === 'varint') type = f.value;
    else if (f.field === 8 && f.kind === 'bytes') name = decodeString(f.value);
    else if (f.field === 9 && f.kind === 'bytes') raw = f.value;
    else if (f.field === 4 && f.kind === 'bytes') packedFloats = f.value;
    else if (f.field === 4 || f.field === 10) {
      throw invalid(`constant "${name}" stores its values unpacked, which is not supported`);
    } else if (f.field === 13 && f.kind === 'varint' && f.value === 1) {
      throw invalid(`constant "${name}" keeps its data in an external file, not supported`);
    }
  }
  if (type !== FLOAT && type !== DOUBLE) {
    throw invalid(`constant "${name}" has element type ${type}; only float32 and float64 are run`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const width = type === FLOAT ? 4 : 8;
  const source = raw ?? packedFloats ?? new Uint8Array(0);
  if (source.length !== count * width) {
    throw invalid(`constant "${name}" holds ${source.length} bytes for ${count} values`);
  }
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  }
  return [name, { dims, data }];
}

function packedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (const byte of bytes) {
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      out.push(value);
      value = 0;
      scale = 1;
    } else scale *= 0x80;
  }
  return out;
}

function decodeValue(bytes: Uint8Array): GraphValue {
  const fields = readFields(bytes);
  const name = strings(fields).get(1)?.[0] ?? '';
  let elemType = 0;
  let dims: (number | string)[] | undefined;
  const type = fields.find((f) => f.field === 2 && f.kind === 'bytes');
  const tensor = type?.kind === 'bytes' ? readFields(type.value).find((f) => f.field === 1) : null;
  if (tensor?.kind === 'bytes') {
    for (const f of readFields(tensor.value)) {
      if (f.field === 1 && f.kind === 'varint') elemType = f.value;
      else if (f.field === 2 && f.kind === 'bytes') {
        dims = [];
        for (const d of readFields(f.value)) {
          if (d.kind !== 'bytes') continue;
          const dim = readFields(d.value)[0];
          if (dim?.field === 1 && dim.kind === 'varint') dims.push(dim.value);
          else if (dim?.field === 2 && dim.kind === 'bytes') dims.push(decodeString(dim.value));
          else dims.push('');
        }
      }
    }
  }
  return { name, elemType, dims };
}
