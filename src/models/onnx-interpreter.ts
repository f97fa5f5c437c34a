import { VigilError } from '../errors.js';
import type { GraphConstant, GraphNode, OnnxGraph } from './onnx-graph.js';

/**
 * A synchronous, allocation-free evaluator of small feed-forward ONNX graphs (dense
 * autoencoders: MatMul/Gemm, element-wise arithmetic with broadcasting, Tanh/Relu/Sigmoid), in
 * float64.
 *
 * Why not onnxruntime here: the engine's detector contract is synchronous (a score is returned
 * for each vector before the next one is read, in a scoring shard's loop), and onnxruntime-node
 * only offers an async `run`. Blocking on a worker would cost a thread hop per vector; batching
 * would break the per-point contract. A dense autoencoder of a few thousand weights evaluates in
 * microseconds in plain TypeScript, deterministically on every platform, so the `onnx` detector
 * runs the graph itself. Graphs with other operators are refused when loaded, naming the operator;
 * tests check the results against onnxruntime on the same file.
 *
 * The plan is compiled once for an input of shape [1, width]: every intermediate shape is known,
 * every buffer allocated up front.
 */
export interface CompiledGraph {
  /** Values per input row. */
  readonly width: number;
  /** Evaluates one row: `input` and `output` have `width` entries. */
  run(input: Float64Array, output: Float64Array): void;
}

export const SUPPORTED_OPERATORS = [
  'Add',
  'Sub',
  'Mul',
  'Div',
  'MatMul',
  'Gemm',
  'Tanh',
  'Relu',
  'Sigmoid',
  'Identity',
] as const;

interface Value {
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

type Step = () => void;

/** Compiles `graph` for one row of `width` values; its one output must have the same size. */
export function compileGraph(
  graph: OnnxGraph,
  width: number,
  source: string,
  outputName: string,
): CompiledGraph {
  const invalid = (what: string): VigilError =>
    new VigilError('VIGIL_ERR_MODEL_INVALID', `${source}: ${what}`);
  const input = graph.inputs[0];
  if (graph.inputs.length !== 1 || input === undefined) {
    throw invalid(`expected one input, the model has ${graph.inputs.length}`);
  }
  const values = new Map<string, Value>();
  for (const [name, c] of graph.constants) values.set(name, c satisfies GraphConstant);
  const inputValue: Value = { dims: [1, width], data: new Float64Array(width) };
  values.set(input.name, inputValue);

  const steps: Step[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') {
      throw invalid(`operator ${node.domain}.${node.opType} is not supported`);
    }
    if (node.outputs.length !== 1) {
      throw invalid(`operator ${node.opType} with ${node.outputs.length} outputs is not supported`);
    }
    const operands = node.inputs.map((name) => {
      const v = values.get(name);
      if (v === undefined) throw invalid(`node ${node.opType} reads "${name}", defined nowhere`);
      return v;
    });
    const [step, out] = compileNode(node, operands, invalid);
    values.set(node.outputs[0]!, out);
    steps.push(step);
  }
  const result = values.get(outputName);
  if (result === undefined) throw invalid(`no value named "${outputName}"`);
  if (result.data.length !== width) {
    throw invalid(
      `output "${outputName}" has shape [${result.dims.join(', ')}] for an input of [1, ${width}]`,
    );
  }
  return {
    width,
    run(x, y) {
      inputValue.data.set(x);
      for (const step of steps) step();
      y.set(result.data);
    },
  };
}

function compileNode(
  node: GraphNode,
  operands: readonly Value[],
  invalid: (what: string) => VigilError,
): [Step, Value] {
  const op = node.opType;
  if (node.otherAttributes.length > 0) {
    throw invalid(`${op} with attribute(s) ${node.otherAttributes.join(', ')} is not supported`);
  }
  const arity = (n: number): void => {
    if (operands.length !== n) throw invalid(`${op} takes ${n} inputs, found ${operands.length}`);
  };
  switch (op) {
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      arity(2);
      return elementwise(op, operands[0]!, operands[1]!, invalid);
    case 'Tanh':
    case 'Relu':
    case 'Sigmoid':
    case 'Identity': {
      arity(1);
      const a = operands[0]!;
      const out: Value = { dims: a.dims, data: new Float64Array(a.data.length) };
      const f = UNARY[op]!;
      return [
        () => {
          for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i]!);
        },
        out,
      ];
    }
    case 'MatMul':
      arity(2);
      return matmul(operands[0]!, operands[1]!, false, false, undefined, op, invalid);
    case 'Gemm': {
      if (operands.length !== 2 && operands.length !== 3) {
        throw invalid(`Gemm takes 2 or 3 inputs, found ${operands.length}`);
      }
      for (const name of node.ints.keys()) {
        if (name !== 'transA' && name !== 'transB') throw invalid(`Gemm attribute ${name}`);
      }
      const tA = node.ints.get('transA') === 1;
      const tB = node.ints.get('transB') === 1;
      return matmul(operands[0]!, operands[1]!, tA, tB, operands[2], op, invalid);
    }
    default:
      throw invalid(
        `operator ${op} is not supported by the in-process interpreter (supported: ${SUPPORTED_OPERATORS.join(', ')})`,
      );
  }
}

const UNARY: Readonly<Record<string, (x: number) => number>> = {
  Tanh: Math.tanh,
  Relu: (x) => (x > 0 ? x : 0),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Identity: (x) => x,
};

const BINARY: Readonly<Record<string, (a: number, b: number) => number>> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
};

/** Numpy broadcasting, with the operand index of every output element precomputed. */
function elementwise(
  op: string,
  a: Value,
  b: Value,
  invalid: (what: string) => VigilError,
): [Step, Value] {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: readonly number[]): number[] => [
    ...new Array<number>(rank - d.length).fill(1),
    ...d,
  ];
  const da = pad(a.dims);
  const db = pad(b.dims);
  const dims = da.map((x, i) => {
    const y = db[i]!;
    if (x !== y && x !== 1 && y !== 1) {
      throw invalid(`${op} of shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}]`);
    }
    return Math.max(x, y);
  });
  const size = dims.reduce((p, q) => p * q, 1);
  const ia = broadcastIndex(da, dims, size);
  const ib = broadcastIndex(db, dims, size);
  const out: Value = { dims, data: new Float64Array(size) };
  const f = BINARY[op]!;
  return [
    () => {
      for (let i = 0; i < size; i++) out.data[i] = f(a.data[ia[i]!]!, b.data[ib[i]!]!);
    },
    out,
  ];
}

function broadcastIndex(from: readonly number[], to: readonly number[], size: number): Int32Array {
  const index = new Int32Array(size);
  const strides = new Array<number>(from.length);
  let s = 1;
  for (let k = from.length - 1; k >= 0; k--) {
    strides[k] = from[k] === 1 ? 0 : s;
    s *= from[k]!;
  }
  for (let i = 0; i < size; i++) {
    let rest = i;
    let at = 0;
    for (let k = to.length - 1; k >= 0; k--) {
      const n = to[k]!;
      at += (rest % n) * strides[k]!;
      rest = Math.floor(rest / n);
    }
    index[i] = at;
  }
  return index;
}

/** [m, k] × [k, n] (+ C broadcast to [m, n]), either operand optionally transposed. */
function matmul(
  a: Value,
  b: Value,
  transA: boolean,
  transB: boolean,
  c: Value | undefined,
  op: string,
  invalid: (what: string) => VigilError,
): [Step, Value] {
  if (a.dims.length !== 2 || b.dims.length !== 2) {
    throw invalid(`${op} of shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] (2-D only)`);
  }
  const [m, k] = transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const [k2, n] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (k !== k2) {
    throw invalid(`${op} of shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}]`);
  }
  const out: Value = { dims: [m, n], data: new Float64Array(m * n) };
  let bias: Int32Array | undefined;
  if (c !== undefined) {
    const zero: Value = { dims: [m, n], data: out.data };
    bias = elementwiseIndex(c, zero, invalid, op);
  }
  const A = a.data;
  const B = b.data;
  const C = c?.data;
  return [
    () => {
      const y = out.data;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = C && bias ? C[bias[i * n + j]!]! : 0;
          for (let p = 0; p < k; p++) {
            const x = transA ? A[p * m + i]! : A[i * k + p]!;
            const w = transB ? B[j * k + p]! : B[p * n + j]!;
            sum += x * w;
          }
          y[i * n + j] = sum;
        }
      }
    },
    out,
  ];
}

/** Indexes of `c` broadcast to `target`'s shape (Gemm's bias). */
function elementwiseIndex(
  c: Value,
  target: Value,
  invalid: (what: string) => VigilError,
  op: string,
): Int32Array {
  const rank = target.dims.length;
  if (c.dims.length > rank) throw invalid(`${op} bias of shape [${c.dims.join(', ')}]`);
  const dc = [...new Array<number>(rank - c.dims.length).fill(1), ...c.dims];
  dc.forEach((x, i) => {
    if (x !== 1 && x !== target.dims[i]) {
      throw invalid(`${op} bias of shape [${c.dims.join(', ')}] for [${target.dims.join(', ')}]`);
    }
  });
  return broadcastIndex(dc, target.dims, target.data.length);
}
