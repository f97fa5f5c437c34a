/** `GET /v1/alerts/dead-letters`: alert deliveries given up, newest first (docs/alerts.md). */
import type { FastifyInstance } from 'fastify';
import { VigilError } from '../errors.js';
import type { DeadLetterStore } from '../store/store.js';

const errorAnswer = {
  type: 'object',
  description: 'an error answer: a stable code (docs/errors.md) and a message',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

export function registerAlertRoutes(
  app: FastifyInstance,
  deps: { readonly deadLetters: DeadLetterStore },
): void {
  app.get(
    '/v1/alerts/dead-letters',
    {
      // Alert payloads and sink addresses: an operator's view (docs/security.md).
      config: { scope: 'admin' },
      schema: {
        summary: 'Alert deliveries that were given up (retries exhausted, queue full, …)',
        tags: ['operations'],
        querystring: {
          type: 'object',
          properties: {
            sink: { type: 'string', description: 'only this sink' },
            before: { type: 'string', description: 'only ids below this (paging)' },
            limit: { type: 'string', description: '1–10,000, default 100' },
          },
        },
        response: {
          200: {
            type: 'object',
            description:
              '`{dead_letters: [{id, sink, delivery_id, incident_id, reason, attempts, last_error, created_at, payload}]}`, newest first',
            additionalProperties: true,
          },
          400: errorAnswer,
          500: errorAnswer,
          503: errorAnswer,
        },
      },
    },
    async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const int = (key: string, value: string, max: number): number => {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > max) {
          throw new VigilError(
            'VIGIL_ERR_INPUT',
            `${key}: expected an integer from 1 to ${max}, found ${JSON.stringify(value)}`,
          );
        }
        return n;
      };
      let query;
      try {
        query = {
          ...(q.sink === undefined ? {} : { sink: q.sink }),
          ...(q.before === undefined
            ? {}
            : { before: int('before', q.before, Number.MAX_SAFE_INTEGER) }),
          ...(q.limit === undefined ? {} : { limit: int('limit', q.limit, 10_000) }),
        };
      } catch (error) {
        // Answered here, so the route behaves the same on any Fastify instance.
        if (!(error instanceof VigilError)) throw error;
        return reply.code(400).send({ code: error.code, message: error.message });
      }
      const letters = await deps.deadLetters.list(query);
      return {
        dead_letters: letters.map((l) => ({
          id: l.id,
          sink: l.sink,
          delivery_id: l.deliveryId,
          incident_id: l.incidentId,
          reason: l.reason,
          attempts: l.attempts,
          last_error: l.lastError,
          created_at: l.createdAt,
          payload: l.payload,
        })),
      };
    },
  );
}
