/** OpenAPI schema of `POST /v1/points`: the point with the proto's field names, and the answers. */
import { commonIngestAnswers, described } from './answers.js';

export const pointSchema = {
  type: 'object',
  description: "One point, with the proto's field names (DataPoint)",
  properties: {
    timestamp: { type: 'number', description: 'event time, ms since the Unix epoch' },
    device_id: { type: 'string' },
    metrics: { type: 'object', additionalProperties: { type: 'number' } },
    tags: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['timestamp', 'device_id', 'metrics'],
} as const;

export const ingestRoute = {
  summary: 'Ingest points (JSON array or NDJSON)',
  description:
    'Body: a JSON array of points (`application/json`) or one point per line ' +
    '(`application/x-ndjson`). Answers 200 with the number of points accepted (durable) and one ' +
    'error per rejected point, by its index in the request (a malformed NDJSON line is the error ' +
    'of its index). 429 with `Retry-After` (seconds) when the ingest queues are full: nothing of ' +
    'the request was accepted.',
  tags: ['ingest'],
  consumes: ['application/json', 'application/x-ndjson'],
  // Content-Encoding gzip or deflate: the body limit holds for the inflated bytes.
  body: { type: 'array', items: pointSchema },
  response: {
    200: {
      type: 'object',
      description: 'points accepted (durable) and one error per rejected point, by its index',
      properties: {
        accepted: { type: 'integer' },
        errors: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              index: { type: 'integer' },
              code: { type: 'string' },
              message: { type: 'string' },
            },
          },
        },
      },
    },
    ...commonIngestAnswers,
    400: described(
      '`VIGIL_ERR_INPUT`: the body is not JSON (the message gives line, column and byte), not UTF-8, or not of its Content-Encoding; nothing was accepted',
    ),
    415: described(
      '`VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE`: a body neither `application/json` nor `application/x-ndjson` (`text/plain` included), or a `Content-Encoding` other than gzip, deflate or none',
    ),
    429: described(
      '`VIGIL_ERR_BACKPRESSURE` or `VIGIL_ERR_RATE_LIMITED`, with `Retry-After` (seconds): nothing was accepted, send again',
    ),
    503: described(
      '`VIGIL_ERR_NOT_READY` or `VIGIL_ERR_STORE_WRITE`, with `Retry-After`: nothing was accepted, send again',
    ),
  },
} as const;
