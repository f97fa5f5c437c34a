/**
 * The model-serving API (docs/model-serving.md): `GET /v1/models`, `GET /v1/models/:name` and
 * `POST /v1/models/:name/predict`. Request bodies are checked by hand (tensor-json.ts) so every
 * problem gets a message naming the input and what is wrong, never a 5xx.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Counter, Registry } from 'prom-client';
import { VigilError, errorCodes } from '../errors.js';
import { counter, gauge } from '../metrics/registry.js';
import { errorResponses } from '../http-api/error-schema.js';
import { noSuchModel, type ModelRegistry, type ServedModel } from './model-registry.js';
import { readInputs, writeTensor, type JsonTensor, type TensorSignature } from './tensor-json.js';
import { JSON_BODY } from '../server/write-guard.js';

export interface ModelRouteLimits {
  /** Largest predict body, bytes (413 beyond). Default 8 MiB. */
  readonly bodyBytes: number;
  /** Most input elements in one predict request (413 beyond). Default 1,048,576. */
  readonly maxElements: number;
}

export const defaultModelRouteLimits: ModelRouteLimits = {
  bodyBytes: 8 * 1024 * 1024,
  maxElements: 1_048_576,
};

export interface ModelRouteOptions {
  readonly models: ModelRegistry;
  /** The model directory, shown by `GET /v1/models` (undefined: serving is off). */
  readonly dir: string | undefined;
  readonly limits?: Partial<ModelRouteLimits>;
}

/** Files that were not made active (unreadable, not ONNX, failed test inference), by model. */
export function modelReloadFailuresCounter(registry: Registry): Counter<'model'> {
  return counter(
    registry,
    'vigil_model_reload_failures_total',
    'Model files not made active (unreadable, not loadable, or failed the test inference), by model',
    ['model'],
  );
}

/** Predictions answered, by model and result (`ok`, `invalid` for a 4xx, `error` for a 5xx). */
export function modelPredictionsCounter(registry: Registry): Counter<'model' | 'result'> {
  return counter(
    registry,
    'vigil_model_predictions_total',
    'Predict requests for a served model, by model and result (ok, invalid, error)',
    ['model', 'result'],
  );
}

/** A gauge of the models being served, read from the registry at scrape time. */
export function modelsLoadedGauge(registry: Registry, models: ModelRegistry): void {
  gauge(registry, {
    name: 'vigil_models_loaded',
    help: 'ONNX models being served from the model directory',
    collect() {
      this.set(models.list().length);
    },
  });
}

const nameParam = {
  type: 'object',
  properties: { name: { type: 'string', description: 'model name: the file name without .onnx' } },
  required: ['name'],
} as const;
const open = { type: 'object', additionalProperties: true } as const;
const answer = (description: string) => ({ ...open, description }) as const;

function signatureJson(s: TensorSignature) {
  return { name: s.name, type: s.type, shape: s.shape.map((d) => (d === '' ? '?' : d)) };
}

export function modelJson(m: ServedModel) {
  return {
    name: m.name,
    version: m.version,
    sha256: m.sha256,
    declared_version: m.declaredVersion ?? null,
    producer: m.producer ?? null,
    file: m.file,
    bytes: m.bytes,
    modified_at: new Date(m.modifiedAt).toISOString(),
    loaded_at: new Date(m.loadedAt).toISOString(),
    inputs: m.inputs.map(signatureJson),
    outputs: m.outputs.map(signatureJson),
  };
}

function sendVigil(reply: FastifyReply, error: VigilError): FastifyReply {
  return reply
    .code(errorCodes[error.code].httpStatus)
    .send({ code: error.code, message: error.message });
}

function readBody(body: unknown): { inputs: unknown; outputs: string[] | undefined } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new VigilError(
      'VIGIL_ERR_TENSOR_INVALID',
      'the body must be a JSON object {"inputs": {...}, "outputs"?: [...]}',
    );
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => k !== 'inputs' && k !== 'outputs');
  if (unknown.length > 0) {
    throw new VigilError(
      'VIGIL_ERR_TENSOR_INVALID',
      `unknown key ${JSON.stringify(unknown[0])} in the body: expected "inputs" and optionally "outputs"`,
    );
  }
  if (!('inputs' in b)) {
    throw new VigilError('VIGIL_ERR_TENSOR_INVALID', 'the body has no "inputs" object');
  }
  let outputs: string[] | undefined;
  if (b.outputs !== undefined) {
    if (
      !Array.isArray(b.outputs) ||
      b.outputs.length === 0 ||
      !b.outputs.every((o) => typeof o === 'string')
    ) {
      throw new VigilError(
        'VIGIL_ERR_TENSOR_INVALID',
        '"outputs" must be a non-empty array of output names',
      );
    }
    outputs = b.outputs as string[];
  }
  return { inputs: b.inputs, outputs };
}

function selectOutputs(model: ServedModel, wanted: string[] | undefined): string[] {
  const names = model.outputs.map((o) => o.name);
  if (wanted === undefined) return names;
  for (const name of wanted) {
    if (!names.includes(name)) {
      throw new VigilError(
        'VIGIL_ERR_TENSOR_INVALID',
        `output "${name}": the model has no such output (its outputs: ${names.map((n) => `"${n}"`).join(', ')})`,
      );
    }
  }
  return [...new Set(wanted)];
}

/** Registers the three routes on an app built by `buildHttpServer`, before it listens. */
export function registerModelRoutes(
  app: FastifyInstance,
  registry: Registry,
  options: ModelRouteOptions,
): void {
  const { models } = options;
  const limits: ModelRouteLimits = { ...defaultModelRouteLimits, ...options.limits };
  const predictions = modelPredictionsCounter(registry);
  modelsLoadedGauge(registry, models);

  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'The ONNX models served from the model directory',
        tags: ['models'],
        response: {
          200: answer('`{models: [{name, version, inputs, outputs, …}]}`'),
          ...errorResponses(500),
        },
      },
    },
    async () => ({ dir: options.dir ?? null, models: models.list().map(modelJson) }),
  );

  app.get(
    '/v1/models/:name',
    {
      schema: {
        summary: 'One served model: inputs, outputs, version',
        tags: ['models'],
        params: nameParam,
        response: {
          200: answer('the model: name, version, inputs, outputs'),
          ...errorResponses(404, 500),
        },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const model = models.get(name);
      if (model === undefined) throw noSuchModel(name, models);
      return modelJson(model);
    },
  );

  app.post(
    '/v1/models/:name/predict',
    {
      // Computes on the caller's data and changes nothing: a reader's call (docs/security.md).
      config: { bodyTypes: JSON_BODY, scope: 'read' },
      bodyLimit: limits.bodyBytes,
      schema: {
        summary: 'Run a served model on named input tensors',
        description:
          'Body `{"inputs": {name: {"dims": [...], "data": [...]} | nested array}, "outputs"?: [names]}`; ' +
          'answer `{model, version, ms, outputs: {name: {type, dims, data}}}`',
        tags: ['models'],
        params: nameParam,
        body: open,
        response: {
          200: answer('`{model, version, ms, outputs: {name: {type, dims, data}}}`'),
          ...errorResponses(400, 404, 413, 415, 422, 500),
        },
      },
      // The body schema documents; tensor-json checks, with messages naming the input.
      validatorCompiler: () => () => true,
      errorHandler: (error: FastifyError, request, reply) => {
        const { name } = request.params as { name?: string };
        const status = error instanceof VigilError ? errorCodes[error.code].httpStatus : undefined;
        predictions.inc({
          model: models.get(name ?? '') ? (name ?? '') : '',
          result: (status ?? error.statusCode ?? 500) < 500 ? 'invalid' : 'error',
        });
        if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
          return sendVigil(
            reply,
            new VigilError(
              'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
              'send the tensors as application/json',
            ),
          );
        }
        throw error; // the app's handler answers the rest as everywhere else
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const { inputs, outputs: wanted } = readBody(request.body);
      const lease = models.acquire(name);
      if (lease === undefined) throw noSuchModel(name, models);
      try {
        const { model } = lease;
        const fetches = selectOutputs(model, wanted);
        const feeds = readInputs(inputs, model.inputs, limits);
        const started = performance.now();
        let result;
        try {
          result = await model.session.run(feeds, fetches);
        } catch (error) {
          const text = error instanceof Error ? error.message : String(error);
          throw new VigilError(
            'VIGIL_ERR_MODEL_RUN',
            `model "${name}" (version ${model.version}) rejected the inputs: ${text.split('\n')[0]}`,
          );
        }
        const ms = performance.now() - started;
        const out: Record<string, JsonTensor> = {};
        for (const o of fetches) out[o] = writeTensor(result[o]!);
        predictions.inc({ model: name, result: 'ok' });
        return {
          model: name,
          version: model.version,
          ms: Math.round(ms * 1000) / 1000,
          outputs: out,
        };
      } finally {
        lease.end();
      }
    },
  );
}
