/**
 * The body of every HTTP error answer, `{code, message}` with a VIGIL_ERR_* code (docs/errors.md),
 * as JSON Schema for the OpenAPI document. A floor of its own so the server, the ingest routes
 * and model serving describe errors alike without importing one another.
 */

export const errorSchema = {
  type: 'object',
  description: 'Every error answer: a stable code (docs/errors.md) and a message',
  properties: {
    code: { type: 'string', example: 'VIGIL_ERR_INPUT' },
    message: { type: 'string' },
  },
  required: ['code', 'message'],
} as const;

/** `{status: errorSchema}` for each status, for a route's `response` schema. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, { ...errorSchema }]));
}
