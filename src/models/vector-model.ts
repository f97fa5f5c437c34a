import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { VigilError } from '../errors.js';
import { decodeOnnxGraph } from './onnx-graph.js';
import { compileGraph } from './onnx-interpreter.js';
import { META_DIMENSIONS, META_METRICS, META_WINDOW } from './model-metadata.js';
import { OUTPUT_NAME } from './onnx-writer.js';

/**
 * An autoencoder over windows of a device's vectors, as the `onnx` detector uses it: one float
 * input [batch, window × metrics] (vectors oldest first, metrics in the device's order within
 * each), one output of the same width. Loaded by name from the model directory (`--models`,
 * VIGIL_MODELS; `models` under the working directory by default) and evaluated in process,
 * synchronously (onnx-interpreter.ts says why).
 */
export interface VectorModel {
  readonly name: string;
  readonly file: string;
  /** SHA-256 of the file's bytes: a detector calibrated on one model notices another. */
  readonly sha256: string;
  /** Values per input row (window × metrics). */
  readonly width: number;
  /** `vigil.window`, when the file declares it. */
  readonly window: number | undefined;
  /** `vigil.dimensions`, the metric count it was trained on, when the file declares it. */
  readonly dimensions: number | undefined;
  /** `vigil.metrics`, the metric names in the order it was trained on, when the file declares them. */
  readonly metrics: readonly string[] | undefined;
  /** Reconstructs one row; `input` and `output` have `width` entries. */
  reconstruct(input: Float64Array, output: Float64Array): void;
}

/** Model names are file names without `.onnx`: no path separators, no leading dot. */
export const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The model directory the process uses: VIGIL_MODELS (which `vigil serve --models DIR` sets for
 * the scoring workers it starts), else `models` under the working directory.
 */
export function modelDirectory(): string {
  const dir = process.env['VIGIL_MODELS'];
  return dir !== undefined && dir !== '' ? dir : 'models';
}

interface Cached {
  readonly size: number;
  readonly mtimeMs: number;
  readonly model: VectorModel;
}

/**
 * Loaded models by file. A file whose size or mtime changed is read again (and recompiled when
 * its bytes changed): the next detector built or restored uses the new model — hot reload
 * without a watcher, because every pipeline build resolves the name again.
 */
const cache = new Map<string, Cached>();

/** Loads model `name` from `dir`; unknown names and unusable files are clear VigilErrors. */
export function loadVectorModel(name: string, dir: string = modelDirectory()): VectorModel {
  if (!MODEL_NAME.test(name)) {
    throw new VigilError(
      'VIGIL_ERR_MODEL_NOT_FOUND',
      `model name "${name}" is not a file name (letters, digits, '_', '.', '-')`,
    );
  }
  const file = path.resolve(dir, `${name}.onnx`);
  let size: number;
  let mtimeMs: number;
  try {
    ({ size, mtimeMs } = statSync(file));
  } catch {
    throw new VigilError(
      'VIGIL_ERR_MODEL_NOT_FOUND',
      `unknown model "${name}": no ${name}.onnx in the model directory ${path.resolve(dir)} (${known(dir)})`,
    );
  }
  const before = cache.get(file);
  if (before && before.size === size && before.mtimeMs === mtimeMs) return before.model;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new VigilError(
      'VIGIL_ERR_MODEL_NOT_FOUND',
      `model "${name}": cannot read ${file} (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const model = before?.model.sha256 === sha256 ? before.model : compile(name, file, bytes, sha256);
  cache.set(file, { size, mtimeMs, model });
  return model;
}

function known(dir: string): string {
  try {
    const names = readdirSync(dir)
      .filter((f) => /^[^.].*\.onnx$/.test(f))
      .map((f) => f.slice(0, -'.onnx'.length))
      .sort();
    return names.length === 0 ? 'it holds no models' : `models there: ${names.join(', ')}`;
  } catch {
    return 'the directory cannot be read';
  }
}

function compile(name: string, file: string, bytes: Uint8Array, sha256: string): VectorModel {
  const source = `model "${name}" (${file})`;
  const invalid = (what: string): VigilError =>
    new VigilError('VIGIL_ERR_MODEL_INVALID', `${source}: ${what}`);
  const graph = decodeOnnxGraph(bytes, source);
  const input = graph.inputs[0];
  if (graph.inputs.length !== 1 || input === undefined) {
    throw invalid(`expected one input, the model has ${graph.inputs.length}`);
  }
  const dims = input.dims;
  const widthDim = dims?.[1];
  if (dims?.length !== 2 || typeof widthDim !== 'number' || widthDim < 1) {
    throw invalid(
      `input "${input.name}" must have the shape [batch, window × metrics] with a fixed width, found [${(dims ?? []).join(', ')}]`,
    );
  }
  const batch = dims[0];
  if (typeof batch === 'number' && batch !== 1) {
    throw invalid(`input "${input.name}" has a fixed batch of ${batch}; 1 or symbolic is needed`);
  }
  const outputName = graph.outputs.some((o) => o.name === OUTPUT_NAME)
    ? OUTPUT_NAME
    : graph.outputs.length === 1
      ? graph.outputs[0]!.name
      : undefined;
  if (outputName === undefined) {
    throw invalid(`expected one output or one named "${OUTPUT_NAME}"`);
  }
  const compiled = compileGraph(graph, widthDim, source, outputName);
  const positive = (key: string): number | undefined => {
    const text = graph.metadata.get(key);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw invalid(`metadata ${key} is "${text}"`);
    return n;
  };
  const dimensions = positive(META_DIMENSIONS);
  const metrics = metricNames(graph.metadata.get(META_METRICS), invalid);
  if (metrics !== undefined && dimensions !== undefined && metrics.length !== dimensions) {
    throw invalid(
      `${META_METRICS} names ${metrics.length} metrics, ${META_DIMENSIONS} says ${dimensions}`,
    );
  }
  return {
    name,
    file,
    sha256,
    width: widthDim,
    window: positive(META_WINDOW),
    dimensions: dimensions ?? metrics?.length,
    metrics,
    reconstruct: (x, y) => compiled.run(x, y),
  };
}

/** `vigil.metrics`: a JSON array of distinct, non-empty strings. */
function metricNames(
  text: string | undefined,
  invalid: (what: string) => VigilError,
): readonly string[] | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const names = Array.isArray(parsed) ? (parsed as unknown[]) : [];
  const valid =
    names.length > 0 &&
    names.every((n) => typeof n === 'string' && n !== '') &&
    new Set(names).size === names.length;
  if (!valid) {
    throw invalid(
      `metadata ${META_METRICS} must be a JSON array of distinct metric names, found ${text.slice(0, 200)}`,
    );
  }
  return Object.freeze(names as string[]);
}
