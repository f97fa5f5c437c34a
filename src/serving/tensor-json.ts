/**
 * Tensors as JSON (docs/model-serving.md): reads the `inputs` of a predict request into
 * onnxruntime tensors, checked against the model's declared inputs, and writes output tensors
 * back as JSON. Every problem is a VigilError naming the input and what is wrong; nothing here
 * allocates a tensor before its element count has been checked against the limit.
 */
import { Tensor } from 'onnxruntime-node';
import { VigilError } from '../errors.js';

/** Element types a request can carry (float16 and the 4-bit types have no JSON form here). */
export const JSON_TENSOR_TYPES = [
  'float32',
  'float64',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
] as const;
export type JsonTensorType = (typeof JSON_TENSOR_TYPES)[number];

export function isJsonTensorType(type: string): type is JsonTensorType {
  return (JSON_TENSOR_TYPES as readonly string[]).includes(type);
}

/** A declared input or output: a fixed dimension is a number, a symbolic one its name (or ''). */
export interface TensorSignature {
  readonly name: string;
  readonly type: JsonTensorType;
  readonly shape: readonly (number | string)[];
}

export interface TensorLimits {
  /** Most elements over all inputs of one request (413 beyond). */
  readonly maxElements: number;
}

/** Deepest nesting read from a request; no model input this service runs has more dimensions. */
const MAX_RANK = 32;

const INT_RANGES: Partial<Record<JsonTensorType, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32_768, 32_767],
  int32: [-2_147_483_648, 2_147_483_647],
  uint8: [0, 255],
  uint16: [0, 65_535],
  uint32: [0, 4_294_967_295],
};
const FLOAT32_MAX = 3.4028234663852886e38;

function bad(input: string, what: string): VigilError {
  return new VigilError('VIGIL_ERR_TENSOR_INVALID', `input "${input}": ${what}`);
}

export function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : d === '' ? '?' : d)).join(', ')}]`;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * `is <value>` for a message. JSON has no Infinity: JSON.parse turns a number beyond a double's
 * range (1e400) into ±Infinity, which JSON.stringify would print as null, naming the wrong fault.
 */
function describeValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) {
    return `is not a finite number (${v < 0 ? '-' : ''}1e400 and any number beyond ±1.8e308 overflow a double)`;
  }
  return `is ${JSON.stringify(v) ?? kind(v)}`;
}

/** A tensor as read from JSON, before conversion: its dims and its values in row-major order. */
interface RawTensor {
  readonly dims: number[];
  readonly data: readonly unknown[];
  readonly type: string | undefined;
}

/**
 * `{dims, data, type?}` with flat data, or a nested array (a bare scalar for rank 0) whose
 * nesting gives the dims.
 */
function readRaw(name: string, value: unknown, budget: Budget): RawTensor {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const tensor = value as Record<string, unknown>;
    const unknown = Object.keys(tensor).filter((k) => !['dims', 'data', 'type'].includes(k));
    if (unknown.length > 0) {
      throw bad(name, `unknown key ${JSON.stringify(unknown[0])}: a tensor is {dims, data, type?}`);
    }
    if (!Array.isArray(tensor.dims)) {
      throw bad(name, `"dims" must be an array of dimension sizes, found ${kind(tensor.dims)}`);
    }
    if (tensor.dims.length > MAX_RANK) {
      throw bad(
        name,
        `"dims" has ${tensor.dims.length} dimensions, the most accepted is ${MAX_RANK}`,
      );
    }
    const dims: number[] = [];
    tensor.dims.forEach((d, i) => {
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
        throw bad(name, `dims[${i}] is ${JSON.stringify(d)}, not a positive integer`);
      }
      dims.push(d);
    });
    if (!Array.isArray(tensor.data)) {
      throw bad(name, `"data" must be a flat array of values, found ${kind(tensor.data)}`);
    }
    if (tensor.type !== undefined && typeof tensor.type !== 'string') {
      throw bad(name, `"type" must be a string such as "float32", found ${kind(tensor.type)}`);
    }
    const count = elementCount(name, dims, budget);
    if (tensor.data.length !== count) {
      throw bad(
        name,
        `"data" has ${tensor.data.length} values, dims [${dims.join(', ')}] need ${count}`,
      );
    }
    return { dims, data: tensor.data, type: tensor.type };
  }
  // Nested form: the dims are the lengths along the first elements; flatten checks the rest.
  const dims: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) {
    if (level.length === 0) throw bad(name, `an empty array at depth ${dims.length}`);
    if (dims.length === MAX_RANK) throw bad(name, `nested deeper than ${MAX_RANK} levels`);
    dims.push(level.length);
  }
  elementCount(name, dims, budget);
  const data: unknown[] = [];
  const flatten = (v: unknown, depth: number, at: string): void => {
    if (depth === dims.length) {
      if (Array.isArray(v)) throw bad(name, `${at || 'the value'} is an array, expected a value`);
      data.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) {
      throw bad(
        name,
        `ragged nested array: ${at} has ${Array.isArray(v) ? `${v.length} elements` : 'a single value'}, ` +
          `expected ${dims[depth]} (as the first element at that depth)`,
      );
    }
    for (let i = 0; i < v.length; i++) flatten(v[i], depth + 1, `${at}[${i}]`);
  };
  flatten(value, 0, '');
  return { dims, data, type: undefined };
}

/** Elements still allowed in this request, and the limit for messages. */
interface Budget {
  remaining: number;
  readonly limit: number;
}

/** Product of dims, checked against what is left of the request's limit as it grows. */
function elementCount(name: string, dims: readonly number[], budget: Budget): number {
  let count = 1;
  for (const d of dims) {
    count *= d;
    if (count > budget.remaining) {
      const others = budget.remaining < budget.limit ? ', counting the inputs before it' : '';
      throw new VigilError(
        'VIGIL_ERR_PAYLOAD_TOO_LARGE',
        `input "${name}": dims [${dims.join(', ')}] hold more than the limit of ${budget.limit} elements per request${others}`,
      );
    }
  }
  return count;
}

/** Dims against the declared shape; symbolic dims are bound in `bound` (same name, same size). */
function checkShape(
  sig: TensorSignature,
  dims: readonly number[],
  bound: Map<string, { size: number; input: string }>,
): void {
  if (dims.length !== sig.shape.length) {
    throw bad(
      sig.name,
      `rank ${dims.length} (dims [${dims.join(', ')}]), the model expects rank ${sig.shape.length} ${describeShape(sig.shape)}`,
    );
  }
  sig.shape.forEach((declared, i) => {
    if (typeof declared === 'number') {
      if (dims[i] !== declared) {
        throw bad(
          sig.name,
          `dimension ${i} is ${dims[i]}, the model fixes it at ${declared} ${describeShape(sig.shape)}`,
        );
      }
    } else if (declared !== '') {
      const earlier = bound.get(declared);
      if (earlier !== undefined && earlier.size !== dims[i]) {
        throw bad(
          sig.name,
          `dimension ${i} ("${declared}") is ${dims[i]}, but "${declared}" is ${earlier.size} in input "${earlier.input}"`,
        );
      }
      bound.set(declared, { size: dims[i]!, input: sig.name });
    }
  });
}

function convert(sig: TensorSignature, raw: RawTensor): Tensor {
  const { name, type } = sig;
  const at = (i: number, v: unknown, expected: string) =>
    bad(name, `data[${i}] ${describeValue(v)}, expected ${expected}`);
  const n = raw.data.length;
  switch (type) {
    case 'float32':
    case 'float64': {
      const out = type === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = raw.data[i];
        // JSON.parse turns 1e400 into Infinity, so finiteness must be checked here.
        if (typeof v !== 'number' || !Number.isFinite(v)) throw at(i, v, 'a finite number');
        if (type === 'float32' && Math.abs(v) > FLOAT32_MAX) {
          throw at(i, v, 'a number within the float32 range (±3.4e38)');
        }
        out[i] = v;
      }
      return new Tensor(type, out, raw.dims);
    }
    case 'int64':
    case 'uint64': {
      const out = type === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n);
      const [lo, hi] = type === 'int64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      for (let i = 0; i < n; i++) {
        const v = raw.data[i];
        let big: bigint | undefined;
        if (typeof v === 'number' && Number.isSafeInteger(v)) big = BigInt(v);
        else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) big = BigInt(v);
        if (big === undefined || big < lo || big > hi) {
          throw at(i, v, `an ${type} (a safe integer, or a decimal string for larger values)`);
        }
        out[i] = big;
      }
      return new Tensor(type, out, raw.dims);
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = raw.data[i];
        if (typeof v !== 'boolean') throw at(i, v, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return new Tensor('bool', out, raw.dims);
    }
    case 'string': {
      for (let i = 0; i < n; i++) {
        if (typeof raw.data[i] !== 'string') throw at(i, raw.data[i], 'a string');
      }
      return new Tensor('string', raw.data as string[], raw.dims);
    }
    default: {
      const [lo, hi] = INT_RANGES[type]!;
      const TypedArray = {
        int8: Int8Array,
        int16: Int16Array,
        int32: Int32Array,
        uint8: Uint8Array,
        uint16: Uint16Array,
        uint32: Uint32Array,
      }[type];
      const out = new TypedArray(n);
      for (let i = 0; i < n; i++) {
        const v = raw.data[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
          throw at(i, v, `an ${type} integer in ${lo}…${hi}`);
        }
        out[i] = v;
      }
      return new Tensor(type, out, raw.dims);
    }
  }
}

/**
 * The request's `inputs` object → one tensor per declared input. Missing and unknown names,
 * element type, rank, fixed and shared symbolic dims, data length and every value are checked.
 */
export function readInputs(
  inputs: unknown,
  signatures: readonly TensorSignature[],
  limits: TensorLimits,
): Record<string, Tensor> {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw new VigilError(
      'VIGIL_ERR_TENSOR_INVALID',
      `"inputs" must be an object of named tensors, found ${kind(inputs)}`,
    );
  }
  const given = inputs as Record<string, unknown>;
  const declared = new Set(signatures.map((s) => s.name));
  const names = signatures.map((s) => `"${s.name}"`).join(', ');
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) throw bad(name, `the model has no such input (its inputs: ${names})`);
  }
  const missing = signatures.filter((s) => !Object.hasOwn(given, s.name));
  if (missing.length > 0) {
    const s = missing[0]!;
    throw bad(s.name, `missing: the model needs ${s.type} ${describeShape(s.shape)}`);
  }
  const budget: Budget = { remaining: limits.maxElements, limit: limits.maxElements };
  const bound = new Map<string, { size: number; input: string }>();
  const feeds: Record<string, Tensor> = {};
  for (const sig of signatures) {
    const raw = readRaw(sig.name, given[sig.name], budget);
    if (raw.type !== undefined && raw.type !== sig.type) {
      throw bad(sig.name, `type "${raw.type}", the model expects "${sig.type}"`);
    }
    checkShape(sig, raw.dims, bound);
    budget.remaining -= raw.data.length;
    feeds[sig.name] = convert(sig, raw);
  }
  return feeds;
}

/** Zeros (false, '') of the declared shape with every symbolic dimension set to 1. */
export function zeroInputs(signatures: readonly TensorSignature[]): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const sig of signatures) {
    const dims = sig.shape.map((d) => (typeof d === 'number' ? d : 1));
    const data = Array.from<number | boolean | string>({
      length: dims.reduce((a, b) => a * b, 1),
    }).fill(sig.type === 'bool' ? false : sig.type === 'string' ? '' : 0);
    feeds[sig.name] = convert(sig, { dims, data, type: sig.type });
  }
  return feeds;
}

export interface JsonTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: readonly (number | string | boolean | null)[];
}

/**
 * An output tensor as JSON. NaN and ±Infinity have no JSON form and become null; 64-bit
 * integers beyond 2^53 become decimal strings so no digit is lost.
 */
export function writeTensor(tensor: Tensor): JsonTensor {
  const dims = [...tensor.dims];
  const source = tensor.data as ArrayLike<unknown>;
  let data: (number | string | boolean | null)[];
  if (tensor.type === 'bool') {
    data = Array.from(source as Uint8Array, (v) => v !== 0);
  } else if (tensor.type === 'int64' || tensor.type === 'uint64') {
    data = Array.from(source as BigInt64Array, (v) => {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v.toString();
    });
  } else if (tensor.type === 'string') {
    data = Array.from(source as string[]);
  } else if (tensor.type === 'float16') {
    // No float16 decoding here: report the raw bits is worse than refusing, so say so.
    throw new VigilError(
      'VIGIL_ERR_MODEL_RUN',
      'the model returned a float16 tensor, which this service cannot write as JSON',
    );
  } else {
    data = Array.from(source as Float64Array, (v) => (Number.isFinite(v) ? v : null));
  }
  return { type: tensor.type, dims, data };
}
