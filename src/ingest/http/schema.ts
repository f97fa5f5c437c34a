/** OpenAPI schema of `POST /v1/points`: the point with the proto's field names, and the answers. */
import { errorResponses } from '../../http-api/error-schema.js';

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
  body: { type: 'array', items: pointSchema },
  response: {
    200: {
      type: 'object',
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
    ...errorResponses(400, 413, 415, 429, 503),
  },
} as const;
