/**
 * Every error Vigil reports to a user has a stable code, listed here and in docs/errors.md.
 * `exitCode` is what the CLI exits with; `httpStatus` what the API will answer.
 */
export const errorCodes = {
  VIGIL_ERR_USAGE: { exitCode: 2, httpStatus: 400, summary: 'bad command-line usage' },
  VIGIL_ERR_INPUT: { exitCode: 3, httpStatus: 400, summary: 'input data cannot be read as asked' },
  VIGIL_ERR_STRATEGY_INVALID: {
    exitCode: 4,
    httpStatus: 422,
    summary: 'strategy fails validation',
  },
  VIGIL_ERR_STRATEGY_NOT_FOUND: { exitCode: 4, httpStatus: 404, summary: 'no such strategy' },
  VIGIL_ERR_STRATEGY_REJECTED: {
    exitCode: 4,
    httpStatus: 409,
    summary: 'strategy not made active: failed its health check or not a newer version',
  },
  VIGIL_ERR_SHADOW_CONFLICT: {
    exitCode: 4,
    httpStatus: 409,
    summary: 'a shadow run cannot start or change as asked',
  },
  VIGIL_ERR_DATASET: {
    exitCode: 5,
    httpStatus: 500,
    summary: 'evaluation dataset is missing or malformed',
  },
  VIGIL_ERR_MODEL_NOT_FOUND: { exitCode: 6, httpStatus: 404, summary: 'model file cannot be read' },
  VIGIL_ERR_MODEL_INVALID: {
    exitCode: 6,
    httpStatus: 422,
    summary: 'model file is not a usable window autoencoder',
  },
  VIGIL_ERR_TENSOR_INVALID: {
    exitCode: 6,
    httpStatus: 400,
    summary: 'predict request tensors do not match the model inputs',
  },
  VIGIL_ERR_MODEL_RUN: {
    exitCode: 6,
    httpStatus: 422,
    summary: 'a served model rejected inputs that passed validation',
  },
  VIGIL_ERR_STORE_UNAVAILABLE: {
    exitCode: 7,
    httpStatus: 503,
    summary: 'database cannot be opened or reached',
  },
  VIGIL_ERR_STORE_SCHEMA: {
    exitCode: 7,
    httpStatus: 500,
    summary: 'database schema cannot be migrated or is newer than this Vigil',
  },
  VIGIL_ERR_STORE_INVALID: {
    exitCode: 7,
    httpStatus: 400,
    summary: 'points, events or checkpoints to store are malformed',
  },
  VIGIL_ERR_STORE_WRITE: { exitCode: 7, httpStatus: 503, summary: 'a write was not stored' },
  VIGIL_ERR_STORE_CONFLICT: {
    exitCode: 7,
    httpStatus: 409,
    summary: 'strategy version already stored with other content',
  },
  VIGIL_ERR_STORE_QUERY: { exitCode: 7, httpStatus: 500, summary: 'a database read failed' },
  VIGIL_ERR_LOG_UNAVAILABLE: {
    exitCode: 7,
    httpStatus: 503,
    summary: 'the durable log (NATS JetStream) cannot be reached or did not acknowledge a write',
  },
  VIGIL_ERR_BACKPRESSURE: {
    exitCode: 8,
    httpStatus: 429,
    summary: 'ingest queues are full: retry after the suggested delay',
  },
  VIGIL_ERR_PAYLOAD_TOO_LARGE: {
    exitCode: 8,
    httpStatus: 413,
    summary: 'request body larger than the configured limit',
  },
  VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE: {
    exitCode: 8,
    httpStatus: 415,
    summary: 'request body in a content type the route does not read',
  },
  VIGIL_ERR_NOT_FOUND: { exitCode: 8, httpStatus: 404, summary: 'no such route or resource' },
  VIGIL_ERR_NOT_READY: {
    exitCode: 8,
    httpStatus: 503,
    summary: 'the service is starting or shutting down',
  },
  VIGIL_ERR_INTERNAL: { exitCode: 8, httpStatus: 500, summary: 'an unexpected server error' },
  VIGIL_ERR_CONFIG: {
    exitCode: 2,
    httpStatus: 500,
    summary: 'configuration file or environment is invalid',
  },
  VIGIL_ERR_CROSS_SITE: {
    exitCode: 8,
    httpStatus: 403,
    summary: 'a change was asked for by a page of another site',
  },
  VIGIL_ERR_CARDINALITY: {
    exitCode: 8,
    httpStatus: 422,
    summary: 'point refused: it would create a series beyond a cardinality cap',
  },
  VIGIL_ERR_UNAUTHENTICATED: {
    exitCode: 8,
    httpStatus: 401,
    summary: 'no API token, or one that is not configured',
  },
  VIGIL_ERR_FORBIDDEN: {
    exitCode: 8,
    httpStatus: 403,
    summary: "the API token's scopes do not include the one the route needs",
  },
  VIGIL_ERR_RATE_LIMITED: {
    exitCode: 8,
    httpStatus: 429,
    summary: 'the caller is over its rate limit: retry after the suggested delay',
  },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class VigilError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilError';
    this.code = code;
  }

  get exitCode(): number {
    return errorCodes[this.code].exitCode;
  }
}
