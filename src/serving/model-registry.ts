/**
 * The models served over HTTP (docs/model-serving.md), one per `*.onnx` file of the model
 * directory, named after the file. Like strategies (src/engine/strategy-slots.ts), a new or
 * changed file is loaded into a staging slot, must pass a test inference, and only then replaces
 * the active model of that name — a plain Map.set, so every request sees either the old or the new
 * model, never a mix. A file that fails keeps the old model serving. Requests hold a lease on the
 * model they started with; a replaced model's session is released once its last lease ends.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { VigilError } from '../errors.js';
import { readOnnxMetadata } from '../models/onnx-session.js';
import { readFields } from '../models/protobuf-wire.js';
import { isJsonTensorType, zeroInputs, type TensorSignature } from './tensor-json.js';

export interface ServedModel {
  readonly name: string;
  readonly file: string;
  /** First 12 hex digits of the file's SHA-256: changes whenever the bytes do. */
  readonly version: string;
  readonly sha256: string;
  /** The file's modification time, ms since the epoch. */
  readonly modifiedAt: number;
  readonly loadedAt: number;
  readonly bytes: number;
  /** `metadata_props` `version`, else ModelProto `model_version` when non-zero. */
  readonly declaredVersion: string | undefined;
  readonly producer: string | undefined;
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
  readonly session: InferenceSession;
}

/** A request's hold on one model: `end()` exactly once when done with its session. */
export interface ModelLease {
  readonly model: ServedModel;
  end(): void;
}

export type LoadOutcome =
  | { readonly status: 'active'; readonly model: ServedModel; readonly replaced?: string }
  | { readonly status: 'unchanged'; readonly model: ServedModel }
  | { readonly status: 'failed'; readonly reason: string };

export interface ModelRegistryOptions {
  /** Threads for one `run` (intra-op); default 1, which suits small models on shared hosts. */
  readonly threads?: number;
  /** Loads, swaps and unloads (informative). */
  readonly log?: (message: string) => void;
  /** Called, with the reason, for every file that was not made active (log it; count it). */
  readonly onFailure?: (model: string, reason: string) => void;
  /** Called after every swap, load or unload (e.g. for a gauge). */
  readonly onChange?: () => void;
}

/** Model name for a file: its base name without `.onnx`. */
export function modelNameOf(file: string): string {
  return path.basename(file).replace(/\.onnx$/, '');
}

interface Slot {
  readonly model: ServedModel;
  leases: number;
  retired: boolean;
}

export class ModelRegistry {
  private readonly active = new Map<string, Slot>();
  private readonly draining = new Set<Slot>();
  private readonly threads: number;
  private readonly log: (message: string) => void;
  private readonly onFailure: (model: string, reason: string) => void;
  private readonly onChange: () => void;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: ModelRegistryOptions = {}) {
    this.threads = options.threads ?? 1;
    this.log = options.log ?? (() => undefined);
    this.onFailure = options.onFailure ?? (() => undefined);
    this.onChange = options.onChange ?? (() => undefined);
  }

  list(): ServedModel[] {
    return [...this.active.values()]
      .map((s) => s.model)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): ServedModel | undefined {
    return this.active.get(name)?.model;
  }

  /** Sessions not yet released: the active ones and replaced ones still serving a request. */
  openSessions(): number {
    return this.active.size + this.draining.size;
  }

  /** The active model of that name, held until `end()`; undefined when there is none. */
  acquire(name: string): ModelLease | undefined {
    const slot = this.active.get(name);
    if (slot === undefined) return undefined;
    slot.leases++;
    let ended = false;
    return {
      model: slot.model,
      end: () => {
        if (ended) return;
        ended = true;
        slot.leases--;
        if (slot.retired && slot.leases === 0) void this.release(slot);
      },
    };
  }

  /**
   * Load (or reload) a file: staging, test inference, swap. Never throws for a bad file: the
   * outcome says why it failed, and the active model of that name, if any, keeps serving.
   */
  load(file: string, bytes?: Uint8Array): Promise<LoadOutcome> {
    return this.serial(() => this.stageAndSwap(file, bytes));
  }

  /** Unload the model of a deleted file; in-flight requests finish on it first. */
  unload(name: string): Promise<boolean> {
    return this.serial(async () => {
      const slot = this.active.get(name);
      if (slot === undefined) return false;
      this.active.delete(name);
      this.retire(slot);
      this.log(`model ${name}: file removed, unloaded (version ${slot.model.version})`);
      this.onChange();
      return true;
    });
  }

  /** Unload everything (shutdown); resolves once idle sessions are released. */
  close(): Promise<void> {
    return this.serial(async () => {
      for (const [name, slot] of this.active) {
        this.active.delete(name);
        this.retire(slot);
      }
      this.onChange();
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private retire(slot: Slot): void {
    slot.retired = true;
    this.draining.add(slot);
    if (slot.leases === 0) void this.release(slot);
  }

  private async release(slot: Slot): Promise<void> {
    if (!this.draining.delete(slot)) return;
    try {
      await slot.model.session.release();
    } catch (error) {
      this.log(`model ${slot.model.name}: releasing the old session failed: ${String(error)}`);
    }
  }

  private fail(name: string, reason: string): LoadOutcome {
    const keeping = this.active.get(name);
    const message =
      `${reason}; ` +
      (keeping
        ? `version ${keeping.model.version} keeps serving`
        : `model "${name}" is not served`);
    this.onFailure(name, message);
    return { status: 'failed', reason: message };
  }

  private async stageAndSwap(file: string, given?: Uint8Array): Promise<LoadOutcome> {
    const name = modelNameOf(file);
    let bytes: Uint8Array;
    let modifiedAt: number;
    try {
      bytes = given ?? (await readFile(file));
      modifiedAt = (await stat(file)).mtimeMs;
    } catch (error) {
      return this.fail(name, `${file}: cannot read (${firstLine(error)})`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const current = this.active.get(name);
    if (current !== undefined && current.model.sha256 === sha256) {
      return { status: 'unchanged', model: current.model };
    }

    // Staging: a session of its own, checked before anyone can reach it.
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        // Fatal only: a failing model is reported by the outcome and the API, not on stderr.
        logSeverityLevel: 4,
      });
    } catch (error) {
      return this.fail(name, `${file}: not a loadable ONNX model (${firstLine(error)})`);
    }
    let model: ServedModel;
    try {
      const signatures = (values: readonly InferenceSession.ValueMetadata[], what: string) =>
        values.map((v) => signatureOf(v, what));
      model = {
        name,
        file,
        version: sha256.slice(0, 12),
        sha256,
        modifiedAt,
        loadedAt: Date.now(),
        bytes: bytes.length,
        ...declaredInfo(bytes, file),
        inputs: signatures(session.inputMetadata, 'input'),
        outputs: signatures(session.outputMetadata, 'output'),
        session,
      };
      const started = performance.now();
      await testInference(model);
      const ms = performance.now() - started;
      this.log(
        `model ${name}: version ${model.version} passed its test inference (${ms.toFixed(1)} ms)`,
      );
    } catch (error) {
      await session.release().catch(() => undefined);
      return this.fail(name, `${file}: ${error instanceof Error ? error.message : String(error)}`);
    }

    // The swap: from here on new requests get the new model; the old drains, then is released.
    this.active.set(name, { model, leases: 0, retired: false });
    if (current !== undefined) this.retire(current);
    this.log(
      current === undefined
        ? `model ${name}: version ${model.version} loaded from ${file}`
        : `model ${name}: version ${model.version} replaced ${current.model.version}`,
    );
    this.onChange();
    return current === undefined
      ? { status: 'active', model }
      : { status: 'active', model, replaced: current.model.version };
  }
}

function signatureOf(value: InferenceSession.ValueMetadata, what: string): TensorSignature {
  if (!value.isTensor) {
    throw new VigilError(
      'VIGIL_ERR_MODEL_INVALID',
      `${what} "${value.name}" is not a tensor (sequences and maps are not served)`,
    );
  }
  if (!isJsonTensorType(value.type)) {
    throw new VigilError(
      'VIGIL_ERR_MODEL_INVALID',
      `${what} "${value.name}" has element type ${value.type}, which has no JSON form here`,
    );
  }
  return { name: value.name, type: value.type, shape: [...value.shape] };
}

/** Zeros of every input's shape (symbolic dims 1): the model must run and give every output. */
async function testInference(model: ServedModel): Promise<void> {
  let result: InferenceSession.ReturnType;
  try {
    result = await model.session.run(zeroInputs(model.inputs));
  } catch (error) {
    throw new VigilError(
      'VIGIL_ERR_MODEL_INVALID',
      `failed its test inference on zeros (${firstLine(error)})`,
      { cause: error },
    );
  }
  for (const output of model.outputs) {
    if (result[output.name] === undefined) {
      throw new VigilError(
        'VIGIL_ERR_MODEL_INVALID',
        `its test inference did not return output "${output.name}"`,
      );
    }
  }
}

/** The model's own idea of its version and who made it, from the ModelProto fields. */
function declaredInfo(
  bytes: Uint8Array,
  file: string,
): { declaredVersion: string | undefined; producer: string | undefined } {
  const metadata = readOnnxMetadata(bytes, file);
  let modelVersion: number | undefined;
  let producer: string | undefined;
  for (const field of readFields(bytes)) {
    if (field.field === 5 && field.kind === 'varint' && field.value !== 0) {
      modelVersion = field.value;
    }
    if (field.field === 2 && field.kind === 'bytes') {
      producer = new TextDecoder().decode(field.value);
    }
  }
  return {
    declaredVersion: metadata.get('version') ?? modelVersion?.toString(),
    producer,
  };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}

/** For messages: "no model named x" plus what there is. */
export function noSuchModel(name: string, registry: ModelRegistry): VigilError {
  const names = registry.list().map((m) => m.name);
  return new VigilError(
    'VIGIL_ERR_MODEL_NOT_FOUND',
    `no model named ${JSON.stringify(name)}` +
      (names.length > 0 ? ` (served: ${names.join(', ')})` : ' (no models are served)'),
  );
}
