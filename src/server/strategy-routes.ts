/**
 * Changing strategies by API (docs/api.md): upload a version (`PUT /v1/strategies/:name`, YAML or
 * JSON) and roll back (`POST /v1/strategies/:name/rollback`). Both go through the engine's
 * staging slot and health check (src/engine/strategy-slots.ts).
 */
import type { FastifyInstance } from 'fastify';
import { StrategyError, parseStrategy, validateStrategy } from '../core/strategy/parse.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { ReloadResult, StrategySlots } from '../engine/strategy-slots.js';
import { VigilError } from '../errors.js';
import { errorResponses } from '../http-api/error-schema.js';
import { JSON_BODY } from './write-guard.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

const resultSchema = {
  type: 'object',
  description:
    '`{name, version, status: active|unchanged|announced, moved, check: {series, points, flagged}}`',
  additionalProperties: true,
} as const;

const nameParam = {
  type: 'object',
  properties: { name: { type: 'string', description: 'strategy name' } },
  required: ['name'],
} as const;

/** A change's answer; `announced` on a cluster node (the scorers check and swap it in). */
export type StrategyChange = Omit<ReloadResult, 'status'> & {
  readonly status: ReloadResult['status'] | 'announced';
};

/** What the routes need: the engine's slots, or a cluster node's announcements. */
export interface StrategyChanges {
  active(): ReturnType<StrategySlots['active']>;
  propose(strategy: Strategy, yaml: string, source: string): Promise<StrategyChange>;
  rollback(name: string, version: number): Promise<StrategyChange>;
}

function answer(r: StrategyChange) {
  return { name: r.name, version: r.version, status: r.status, moved: r.moved, check: r.check };
}

export function registerStrategyRoutes(app: FastifyInstance, slots: StrategyChanges): void {
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );

  app.get(
    '/v1/strategies/active',
    {
      schema: {
        summary: 'The strategies scoring now, in routing order, and the default',
        tags: ['strategies'],
        response: {
          200: {
            type: 'object',
            description: '`{strategies: [{name, version}], default: {name, version}}`',
            additionalProperties: true,
          },
          ...errorResponses(500),
        },
      },
    },
    async () => {
      const { strategies, fallback } = slots.active();
      const item = (s: Strategy) => ({ name: s.name, version: s.version });
      return { strategies: strategies.map(item), default: item(fallback) };
    },
  );

  app.put(
    '/v1/strategies/:name',
    {
      config: { bodyTypes: [...YAML_TYPES, 'application/json'] },
      schema: {
        summary: 'Upload a strategy version (YAML or JSON); made active after a health check',
        description:
          'Body: the strategy as YAML (`application/yaml`, `text/yaml`) or JSON; 415 for another ' +
          'type (`text/plain` included: a page of another site can send that). ' +
          'Stored (every version is kept), then, when its `version` is above the active one, ' +
          'staged, checked on the recent points of the series it would take over, and swapped ' +
          'in. 422 with one line per problem for an invalid strategy; 409 ' +
          '`VIGIL_ERR_STRATEGY_REJECTED` when the check fails or the version is not newer (the ' +
          'active version keeps scoring), `VIGIL_ERR_STORE_CONFLICT` for the same version with ' +
          'other content.',
        tags: ['strategies'],
        params: nameParam,
        response: { 200: resultSchema, ...errorResponses(400, 409, 415, 422, 500) },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const source = `PUT /v1/strategies/${name}`;
      const body: unknown = request.body;
      let strategy: Strategy;
      let yaml: string;
      if (typeof body === 'string') {
        strategy = parseStrategy(body, source);
        yaml = body;
      } else {
        strategy = validateStrategy(body, source);
        yaml = `${JSON.stringify(body, null, 2)}\n`;
      }
      if (strategy.name !== name) {
        throw new StrategyError([
          `${source}: name: expected ${JSON.stringify(name)} (the name in the URL), found ${JSON.stringify(strategy.name)}`,
        ]);
      }
      return answer(await slots.propose(strategy, yaml, source));
    },
  );

  app.post(
    '/v1/strategies/:name/rollback',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Make a stored version active again (through the same health check)',
        tags: ['strategies'],
        params: nameParam,
        body: {
          type: 'object',
          properties: { version: { type: 'integer', minimum: 1 } },
          required: ['version'],
        },
        response: { 200: resultSchema, ...errorResponses(400, 404, 409, 500) },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const { version } = request.body as { version: number };
      if (!Number.isInteger(version)) {
        throw new VigilError('VIGIL_ERR_INPUT', 'body.version: expected an integer');
      }
      return answer(await slots.rollback(name, version));
    },
  );
}
