/**
 * `GET /v1/units`, `PUT /v1/units/:metric`, `DELETE /v1/units/:metric`: the units operators
 * declare per metric name (docs/api.md, "Units"). `GET /v1/series` shows them (metric-units.ts).
 */
import type { FastifyInstance } from 'fastify';
import { VigilError } from '../errors.js';
import { errorResponses } from '../http-api/error-schema.js';
import { MAX_NAME_LENGTH } from '../store/copy-text.js';
import type { Store } from '../store/store.js';
import {
  inferUnit,
  MAX_UNIT_DESCRIPTION_LENGTH,
  MAX_UNIT_LENGTH,
  parseUnitBody,
  unitJson,
} from './metric-units.js';
import { JSON_BODY } from './write-guard.js';

const metricParam = {
  type: 'object',
  properties: { metric: { type: 'string', description: 'metric name (URL-encoded)' } },
  required: ['metric'],
} as const;

const unitAnswer = {
  type: 'object',
  description: '`{metric, unit, description, updated_at}`',
  additionalProperties: true,
} as const;

function checkMetric(metric: string): string {
  if (metric.length === 0 || metric.length > MAX_NAME_LENGTH || metric.includes('\0')) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `metric must be 1 to ${MAX_NAME_LENGTH} characters without NUL`,
    );
  }
  return metric;
}

export function registerMetricUnitRoutes(app: FastifyInstance, store: Store): void {
  app.get(
    '/v1/units',
    {
      schema: {
        summary: 'The units declared for metrics',
        description:
          'Every declared unit, sorted by metric. Metrics without one show the unit their name ' +
          'implies by the Prometheus convention (`_seconds` s, `_bytes` B, `_celsius` °C, ' +
          '`_ratio`, `_percent` %, `_total` count) in `GET /v1/series` (`unit_source: inferred`).',
        tags: ['query'],
        response: {
          200: {
            type: 'object',
            description: '`{units: [{metric, unit, description, updated_at}]}`',
            additionalProperties: true,
          },
          ...errorResponses(500),
        },
      },
    },
    async () => ({ units: (await store.metricUnits.list()).map(unitJson) }),
  );

  app.put(
    '/v1/units/:metric',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Declare the unit of a metric (for every device reporting it)',
        description:
          `Body \`{"unit": string (1–${MAX_UNIT_LENGTH} characters, no control characters), ` +
          `"description"?: string (≤ ${MAX_UNIT_DESCRIPTION_LENGTH})}\`. Replaces any unit the ` +
          'metric had; the dashboard labels the value axis, tooltips and event values with it.',
        tags: ['query'],
        params: metricParam,
        body: {
          type: 'object',
          properties: {
            unit: { type: 'string', maxLength: MAX_UNIT_LENGTH, examples: ['°C'] },
            description: { type: 'string', maxLength: MAX_UNIT_DESCRIPTION_LENGTH },
          },
          required: ['unit'],
        },
        response: { 200: unitAnswer, ...errorResponses(400, 500) },
      },
      // The body schema documents the shape; parseUnitBody checks it with field-named errors.
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const metric = checkMetric((request.params as { metric: string }).metric);
      const { unit, description } = parseUnitBody(request.body);
      return unitJson(await store.metricUnits.set(metric, unit, description));
    },
  );

  app.delete(
    '/v1/units/:metric',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Forget the declared unit of a metric (its name may still imply one)',
        tags: ['query'],
        params: metricParam,
        response: {
          200: {
            type: 'object',
            description: '`{metric, removed: true, inferred: string | null}`',
            additionalProperties: true,
          },
          ...errorResponses(400, 404, 500),
        },
      },
    },
    async (request) => {
      const metric = checkMetric((request.params as { metric: string }).metric);
      if (!(await store.metricUnits.remove(metric))) {
        throw new VigilError(
          'VIGIL_ERR_NOT_FOUND',
          `no unit is declared for metric ${JSON.stringify(metric)}`,
        );
      }
      return { metric, removed: true, inferred: inferUnit(metric) };
    },
  );
}
