import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { VigilError } from '../errors.js';
import { calibrationOf, type ErrorCalibration } from './calibration.js';
import { META_ERROR_BOUNDARY, META_ERROR_TYPICAL, META_WINDOW } from './model-metadata.js';
import { OUTPUT_NAME } from './onnx-writer.js';
import { ProtoDecodeError, decodeString, readFields } from './protobuf-wire.js';

/**
 * A loaded window autoencoder: one float32 input [batch, window], one float32 output of the same
 * shape. Loading checks that contract up front, so a wrong model fails with a clear
 * VIGIL_ERR_MODEL_INVALID before any data is read, never with a crash in the middle of scoring.
 * Concurrent `reconstruct` calls share the one loaded session (no copy per caller).
 */
export interface WindowModel {
  /** Where the model came from, for messages. */
  readonly source: string;
  /** Points per window. */
  readonly window: number;
  /** Fixed batch size declared by the input shape, or undefined when it is symbolic. */
  readonly fixedBatch: number | undefined;
  /** How errors map to scores (`vigil.error_*` metadata), if the model carries it. */
  readonly calibration: ErrorCalibration | undefined;
  /** All `metadata_props` of the file. */
  readonly metadata: ReadonlyMap<string, string>;
  /**
   * Reconstructs `count` windows laid out row after row in `windows` (count × window values).
   * A model with a fixed batch size must be given exactly that many.
   */
  reconstruct(windows: Float32Array, count: number): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface LoadOptions {
  /** Declared window length; required only when the model's window dimension is symbolic. */
  readonly window?: number;
  /** Threads for one `run`; 0 (default) lets onnxruntime use every core. */
  readonly threads?: number;
}

/** Loads a model file; a missing or unreadable file is VIGIL_ERR_MODEL_NOT_FOUND. */
export async function loadWindowModel(
  file: string,
  options: LoadOptions = {},
): Promise<WindowModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new VigilError('VIGIL_ERR_MODEL_NOT_FOUND', `${file}: cannot read the model: ${reason}`, {
      cause: err,
    });
  }
  return openWindowModel(bytes, file, options);
}

/** Opens a model held in memory; `source` names it in messages. */
export async function openWindowModel(
  bytes: Uint8Array,
  source: string,
  options: LoadOptions = {},
): Promise<WindowModel> {
  const invalid = (what: string, cause?: unknown): VigilError =>
    new VigilError('VIGIL_ERR_MODEL_INVALID', `${source}: ${what}`, { cause });
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads ?? 0,
      logSeverityLevel: 3, // errors only: the runtime's warnings would clutter CLI output
    });
  } catch (err) {
    throw invalid(`not a loadable ONNX model (${firstLine(err)})`, err);
  }
  try {
    const metadata = readOnnxMetadata(bytes, source);
    const contract = checkContract(session, metadata, options.window, invalid);
    return new OnnxWindowModel(session, source, metadata, contract, invalid);
  } catch (err) {
    await session.release();
    throw err;
  }
}

interface Contract {
  readonly inputName: string;
  readonly outputName: string;
  readonly window: number;
  readonly fixedBatch: number | undefined;
  readonly calibration: ErrorCalibration | undefined;
}

function checkContract(
  session: InferenceSession,
  metadata: ReadonlyMap<string, string>,
  declared: number | undefined,
  invalid: (what: string) => VigilError,
): Contract {
  if (session.inputMetadata.length !== 1) {
    throw invalid(`expected one input, the model has ${session.inputMetadata.length}`);
  }
  const input = session.inputMetadata[0]!;
  if (!input.isTensor || input.type !== 'float32' || input.shape.length !== 2) {
    throw invalid(
      `input "${input.name}" must be a float32 tensor [batch, window], found ${describe(input)}`,
    );
  }
  const [batchDim, windowDim] = input.shape;
  const fromMetadata = positiveInteger(metadata.get(META_WINDOW));
  if (metadata.has(META_WINDOW) && fromMetadata === undefined) {
    throw invalid(`metadata ${META_WINDOW} is "${metadata.get(META_WINDOW)}", not a window length`);
  }
  let window: number;
  if (isFixed(windowDim)) {
    window = windowDim;
    for (const [what, n] of [
      ['the window length asked for', declared],
      [`metadata ${META_WINDOW}`, fromMetadata],
    ] as const) {
      if (n !== undefined && n !== window) {
        throw invalid(
          `input "${input.name}" takes windows of ${window} points, but ${what} is ${n}`,
        );
      }
    }
  } else {
    const chosen = declared ?? fromMetadata;
    if (chosen === undefined) {
      throw invalid(
        `input "${input.name}" has a symbolic window dimension and no ${META_WINDOW} metadata: declare the window length`,
      );
    }
    window = chosen;
  }
  if (window < 2) throw invalid(`a window of ${window} point(s) is too short`);

  const outputName = session.outputNames.includes(OUTPUT_NAME)
    ? OUTPUT_NAME
    : session.outputNames.length === 1
      ? session.outputNames[0]!
      : undefined;
  if (outputName === undefined) {
    throw invalid(
      `expected one output or one named "${OUTPUT_NAME}", found ${session.outputNames.join(', ')}`,
    );
  }
  const output = session.outputMetadata.find((o) => o.name === outputName)!;
  if (!output.isTensor || output.type !== 'float32') {
    throw invalid(`output "${outputName}" must be a float32 tensor, found ${describe(output)}`);
  }
  // An output shape is often left undeclared; when it is declared, it must match the input.
  if (output.shape.length > 0) {
    const fixedOutWindow =
      output.shape.length === 2 && isFixed(output.shape[1]) ? output.shape[1] : undefined;
    if (output.shape.length !== 2 || (fixedOutWindow !== undefined && fixedOutWindow !== window)) {
      throw invalid(
        `output "${outputName}" must have the input's shape [batch, ${window}], found ${describe(output)}`,
      );
    }
  }

  return {
    inputName: input.name,
    outputName,
    window,
    fixedBatch: isFixed(batchDim) ? batchDim : undefined,
    calibration: readCalibration(metadata, invalid),
  };
}

class OnnxWindowModel implements WindowModel {
  readonly window: number;
  readonly fixedBatch: number | undefined;
  readonly calibration: ErrorCalibration | undefined;

  constructor(
    private readonly session: InferenceSession,
    readonly source: string,
    readonly metadata: ReadonlyMap<string, string>,
    private readonly contract: Contract,
    private readonly invalid: (what: string, cause?: unknown) => VigilError,
  ) {
    this.window = contract.window;
    this.fixedBatch = contract.fixedBatch;
    this.calibration = contract.calibration;
  }

  async reconstruct(windows: Float32Array, count: number): Promise<Float32Array> {
    const W = this.window;
    if (windows.length !== count * W) {
      throw new RangeError(
        `${count} windows of ${W} need ${count * W} values, got ${windows.length}`,
      );
    }
    let result: InferenceSession.ReturnType;
    try {
      const feed = new Tensor('float32', windows, [count, W]);
      result = await this.session.run({ [this.contract.inputName]: feed });
    } catch (err) {
      throw this.invalid(
        `the model failed on a batch of ${count} windows (${firstLine(err)})`,
        err,
      );
    }
    const out = result[this.contract.outputName];
    if (!(out instanceof Tensor) || out.type !== 'float32') {
      throw this.invalid(`output "${this.contract.outputName}" is not a float32 tensor`);
    }
    if (out.dims.length !== 2 || out.dims[0] !== count || out.dims[1] !== W) {
      throw this.invalid(
        `output shape mismatch: [${out.dims.join(', ')}] for an input of [${count}, ${W}]`,
      );
    }
    return out.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Reads `metadata_props` (ModelProto field 14) from the file's bytes: onnxruntime's JavaScript API
 * does not expose custom metadata, and the calibration lives there.
 */
export function readOnnxMetadata(bytes: Uint8Array, source: string): Map<string, string> {
  const metadata = new Map<string, string>();
  try {
    for (const field of readFields(bytes)) {
      if (field.field !== 14 || field.kind !== 'bytes') continue;
      let key = '';
      let value = '';
      for (const entry of readFields(field.value)) {
        if (entry.kind !== 'bytes') continue;
        if (entry.field === 1) key = decodeString(entry.value);
        else if (entry.field === 2) value = decodeString(entry.value);
      }
      metadata.set(key, value);
    }
  } catch (err) {
    if (!(err instanceof ProtoDecodeError)) throw err;
    throw new VigilError(
      'VIGIL_ERR_MODEL_INVALID',
      `${source}: malformed ONNX file (${err.message})`,
      {
        cause: err,
      },
    );
  }
  return metadata;
}

function readCalibration(
  metadata: ReadonlyMap<string, string>,
  invalid: (what: string) => VigilError,
): ErrorCalibration | undefined {
  const number = (key: string): number | undefined => {
    const text = metadata.get(key);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw invalid(`metadata ${key} is "${text}", not an error value ≥ 0`);
    }
    return n;
  };
  const boundary = number(META_ERROR_BOUNDARY);
  const typical = number(META_ERROR_TYPICAL) ?? 0;
  if (boundary === undefined) return undefined;
  if (!(boundary > typical)) {
    throw invalid(
      `metadata ${META_ERROR_BOUNDARY} (${boundary}) must exceed ${META_ERROR_TYPICAL} (${typical})`,
    );
  }
  return calibrationOf(typical, boundary);
}

function isFixed(dim: number | string | undefined): dim is number {
  return typeof dim === 'number' && dim > 0;
}

function positiveInteger(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function describe(value: InferenceSession.ValueMetadata): string {
  if (!value.isTensor) return 'a non-tensor value';
  const dims = value.shape.map((d) =>
    isFixed(d) ? String(d) : typeof d === 'string' && d !== '' ? d : '?',
  );
  return `${value.type} [${dims.join(', ')}]`;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}
