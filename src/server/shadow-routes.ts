/**
 * Shadow runs by API (docs/shadow.md): start a stored strategy version in shadow, list runs,
 * compare a run with the active strategies, promote or discard it. Thin: the work is in
 * src/engine/shadow/shadow-manager.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ShadowComparison, SideComparison } from '../engine/shadow/compare.js';
import type { ShadowService, ShadowRunView } from '../engine/shadow/shadow-manager.js';
import { VigilError } from '../errors.js';
import type { EventsQuery, ShadowRun } from '../store/store.js';
import { errorResponses } from '../http-api/error-schema.js';
import { JSON_BODY } from './write-guard.js';

const anyObject = (description: string) =>
  ({ type: 'object', description, additionalProperties: true }) as const;

const idParam = {
  type: 'object',
  properties: { id: { type: 'string', description: 'the shadow run id' } },
  required: ['id'],
} as const;

const RUN_SHAPE =
  '`{id, strategy, version, status: running|promoted|discarded, started_at, ended_at, ' +
  'counters: {points, series, first_time, last_time, active_ns_per_point, candidate_ns_per_point}}`';

function parseId(text: string): number {
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id < 1 || id > 2 ** 31 - 1) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `shadow run id: expected a positive whole number, found ${JSON.stringify(text)}`,
    );
  }
  return id;
}

/** `?shadow=` and `?shadow_run=` of `GET /v1/events`. */
export function parseShadowFilter(
  shadow: string | undefined,
  run: string | undefined,
): Pick<EventsQuery, 'shadow' | 'shadowRun'> {
  const modes: Readonly<Record<string, EventsQuery['shadow']>> = {
    exclude: 'exclude',
    false: 'exclude',
    include: 'include',
    true: 'include',
    only: 'only',
  };
  const out: { shadow?: EventsQuery['shadow']; shadowRun?: number } = {};
  if (shadow !== undefined) {
    const mode = modes[shadow];
    if (mode === undefined) {
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `shadow: expected exclude, include, only, true or false, found ${JSON.stringify(shadow)}`,
      );
    }
    out.shadow = mode;
  }
  if (run !== undefined) out.shadowRun = parseId(run);
  return out;
}

const perPoint = (ns: number, points: number): number | null => (points > 0 ? ns / points : null);

function runJson(run: ShadowRun, view?: ShadowRunView) {
  const c = view?.counters;
  return {
    id: run.id,
    strategy: run.strategy,
    version: run.version,
    status: run.status,
    started_at: run.startedAt,
    ended_at: run.endedAt,
    counters:
      c === undefined
        ? null
        : {
            points: c.points,
            series: c.series,
            first_time: c.firstTime,
            last_time: c.lastTime,
            active_ns_per_point: perPoint(c.activeNs, c.points),
            candidate_ns_per_point: perPoint(c.candidateNs, c.points),
          },
  };
}

function sideJson(s: SideComparison) {
  return {
    points: s.points,
    events: s.events,
    alarms_per_10k: s.alarmsPer10k,
    ns_per_point: s.nsPerPoint,
    overlapping: s.overlapping,
    overlap_share: s.overlapShare,
    labelled: s.labelled,
    precision: s.precision,
  };
}

function comparisonJson(c: ShadowComparison) {
  return {
    points: c.points,
    series: c.series,
    first_time: c.firstTime,
    last_time: c.lastTime,
    active: sideJson(c.active),
    candidate: sideJson(c.candidate),
    mean_delay_ms: c.meanDelayMs,
    delay_pairs: c.delayPairs,
  };
}

export function registerShadowRoutes(app: FastifyInstance, shadows: ShadowService): void {
  app.get(
    '/v1/shadows',
    {
      schema: {
        summary: 'Shadow runs, newest first',
        tags: ['strategies'],
        response: { 200: anyObject(`\`{runs: [${RUN_SHAPE}]}\``), ...errorResponses(500) },
      },
    },
    async () => ({ runs: (await shadows.list()).map((v) => runJson(v.run, v)) }),
  );

  app.post(
    '/v1/shadows',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Start a stored strategy version in shadow beside the active strategies',
        description:
          'Body `{strategy, version?}` (default: the latest stored version), or `{yaml}`: a new ' +
          'version, stored first without being made active. The candidate scores ' +
          'the series it would take over if promoted, on the same points as the active strategy; ' +
          'its events are stored as shadow events and never alerted. 404 for an unknown strategy ' +
          'or version, 400 for a vector strategy, 409 `VIGIL_ERR_SHADOW_CONFLICT` when the ' +
          'version is active or already in shadow.',
        tags: ['strategies'],
        body: {
          type: 'object',
          properties: {
            strategy: { type: 'string', minLength: 1 },
            version: { type: 'integer', minimum: 1 },
            yaml: { type: 'string', minLength: 1, description: 'a new version to store first' },
          },
          additionalProperties: false,
        },
        response: { 201: anyObject(RUN_SHAPE), ...errorResponses(400, 404, 409, 500) },
      },
    },
    async (request, reply) => {
      const body = request.body as { strategy?: string; version?: number; yaml?: string };
      if ((body.strategy === undefined) === (body.yaml === undefined)) {
        throw new VigilError(
          'VIGIL_ERR_INPUT',
          'body: give either `strategy` (and optionally `version`) of a stored strategy, or `yaml`',
        );
      }
      if (body.yaml !== undefined && body.version !== undefined) {
        throw new VigilError('VIGIL_ERR_INPUT', 'body.version: not with `yaml` (it has its own)');
      }
      const view =
        body.yaml !== undefined
          ? await shadows.startYaml(body.yaml, 'POST /v1/shadows')
          : await shadows.start(body.strategy as string, body.version);
      return reply.code(201).send(runJson(view.run, view));
    },
  );

  app.get(
    '/v1/shadows/:id',
    {
      schema: {
        summary: 'A shadow run with its side-by-side comparison with the active strategies',
        description:
          'Adds `comparison: {points, series, first_time, last_time, active: side, candidate: side, ' +
          'mean_delay_ms, delay_pairs}`; a side is `{points, events, alarms_per_10k, ns_per_point, ' +
          'overlapping, overlap_share, labelled, precision}` (definitions in docs/shadow.md).',
        tags: ['strategies'],
        params: idParam,
        response: { 200: anyObject(RUN_SHAPE), ...errorResponses(400, 404, 500) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const view = await shadows.compare(parseId(id));
      return { ...runJson(view.run, view), comparison: comparisonJson(view.comparison) };
    },
  );

  app.post(
    '/v1/shadows/:id/promote',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Make the candidate active (staged health check and swap); the run ends promoted',
        description:
          '409 `VIGIL_ERR_STRATEGY_REJECTED` when the health check fails (the run stays in ' +
          'shadow), `VIGIL_ERR_SHADOW_CONFLICT` when the run has already ended.',
        tags: ['strategies'],
        params: idParam,
        response: {
          200: anyObject('`{run, reload: {name, version, status, moved, check}}`'),
          ...errorResponses(400, 404, 409, 500),
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { run, reload } = await shadows.promote(parseId(id));
      return {
        run: runJson(run),
        reload: {
          name: reload.name,
          version: reload.version,
          status: reload.status,
          moved: reload.moved,
          check: reload.check,
        },
      };
    },
  );

  app.post(
    '/v1/shadows/:id/discard',
    {
      config: { bodyTypes: JSON_BODY },
      schema: {
        summary: 'Stop a shadow run; its events stay stored',
        tags: ['strategies'],
        params: idParam,
        response: { 200: anyObject(RUN_SHAPE), ...errorResponses(400, 404, 409, 500) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return runJson(await shadows.discard(parseId(id)));
    },
  );
}
