/**
 * `/v1/incidents`: list (filtered, keyset-paged), get, and what people do about an incident —
 * acknowledge, assign, comment, resolve. Reads need `read`; changes need `admin` (the default
 * for a non-GET route, src/auth/scope.ts). Who did it is the authenticated token's name.
 * docs/api.md, "Incidents".
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorResponses } from '../http-api/error-schema.js';
import { VigilError } from '../errors.js';
import { decodeCursor, encodeCursor, PAGE_LIMIT_MAX } from '../server/page-cursor.js';
import { parseLimit, parseTime } from '../server/query-params.js';
import { incidentLink } from '../alerts/describe.js';
import {
  INCIDENT_STATES,
  type IncidentsQuery,
  type IncidentStore,
  type StoredIncident,
} from './types.js';

export interface IncidentRouteDeps {
  readonly incidents: IncidentStore;
  /** Told of every acknowledgement that changed an incident (alert sinks silence it). */
  readonly onAcknowledge?: (incident: StoredIncident) => void;
  /** Told of every hand resolution that changed an incident (alert sinks end its alert). */
  readonly onResolve?: (incident: StoredIncident) => void;
  /** Base of the `link` field; default the request's own origin. */
  readonly publicUrl?: string;
}

const str = (description: string) => ({ type: 'string', description }) as const;
const answer = (ok: string, ...errors: number[]) => ({
  200: { type: 'object', description: ok, additionalProperties: true },
  ...errorResponses(...errors),
});
const idParams = {
  type: 'object',
  properties: { id: str('the incident id (URL-encoded)') },
  required: ['id'],
} as const;
const timeText = 'ms since the epoch or ISO 8601';
const MAX_TEXT = 10_000;

export function incidentJson(i: StoredIncident, publicUrl: string) {
  return {
    id: i.id,
    device: i.device,
    metrics: i.metrics,
    severity: i.level,
    state: i.state,
    firing_since: i.first,
    last: i.last,
    end: i.end,
    event_ids: i.eventIds,
    tags: i.tags,
    acknowledged_by: i.acknowledgedBy,
    acknowledged_at: i.acknowledgedAt,
    assignee: i.assignee,
    resolved_by: i.resolvedBy,
    resolved_at: i.resolvedAt,
    updated_at: i.updatedAt,
    comments: i.comments.map((c) => ({ id: c.id, by: c.by, text: c.text, at: c.at })),
    link: incidentLink(publicUrl, i.id),
  };
}

function who(request: FastifyRequest): string | null {
  return request.principal?.name ?? null;
}

function origin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

function found(id: string, incident: StoredIncident | undefined): StoredIncident {
  if (incident === undefined) {
    throw new VigilError('VIGIL_ERR_NOT_FOUND', `no incident with id ${JSON.stringify(id)}`);
  }
  return incident;
}

/** A JSON body's string field: absent → undefined, null allowed when `nullable`. */
function bodyText(body: unknown, field: string, nullable: boolean): string | null | undefined {
  const value =
    body !== null && typeof body === 'object'
      ? (body as Record<string, unknown>)[field]
      : undefined;
  if (value === undefined || (nullable && value === null)) return value as null | undefined;
  if (typeof value !== 'string' || value.length > MAX_TEXT) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${field}: expected a string of at most ${MAX_TEXT} characters${nullable ? ' or null' : ''}`,
    );
  }
  return value;
}

export function listQuery(q: Record<string, string | undefined>): IncidentsQuery {
  let tag: IncidentsQuery['tag'];
  if (q.tag !== undefined) {
    const at = q.tag.indexOf(':');
    if (at <= 0) {
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `tag: expected key:value, found ${JSON.stringify(q.tag)}`,
      );
    }
    tag = { key: q.tag.slice(0, at), value: q.tag.slice(at + 1) };
  }
  const state = q.state;
  if (state !== undefined && state !== 'open' && !(INCIDENT_STATES as string[]).includes(state)) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `state: expected open, ${INCIDENT_STATES.join(', ')}; found ${JSON.stringify(state)}`,
    );
  }
  let after: IncidentsQuery['after'];
  if (q.cursor !== undefined) {
    const [first, id] = decodeCursor('i', q.cursor, 2) as [string, string];
    after = { first: Number(first), id };
  }
  return {
    ...(q.device === undefined || q.device === '' ? {} : { device: q.device }),
    ...(tag === undefined ? {} : { tag }),
    ...(state === undefined || state === '' ? {} : { state: state as IncidentsQuery['state'] }),
    ...(q.from === undefined ? {} : { from: parseTime('from', q.from) }),
    ...(q.to === undefined ? {} : { to: parseTime('to', q.to) }),
    limit: q.limit === undefined ? 100 : parseLimit('limit', q.limit, PAGE_LIMIT_MAX),
    ...(after === undefined ? {} : { after }),
  };
}

export function registerIncidentRoutes(app: FastifyInstance, deps: IncidentRouteDeps): void {
  const { incidents } = deps;
  const base = (request: FastifyRequest) => deps.publicUrl ?? origin(request);

  app.get(
    '/v1/incidents',
    {
      schema: {
        summary: 'Incidents, newest first (firing since), one page at a time',
        tags: ['incidents'],
        querystring: {
          type: 'object',
          properties: {
            device: str('only this device'),
            tag: str('only incidents whose device tags hold key:value'),
            state: {
              type: 'string',
              enum: ['open', ...INCIDENT_STATES],
              description: 'only this state; open: firing or acknowledged',
            },
            from: str(`incidents overlapping [from, to), ${timeText}`),
            to: str(`incidents overlapping [from, to), ${timeText}`),
            limit: str('rows per page, 1 to 10000 (default 100)'),
            cursor: str('`next_cursor` of the previous page (opaque)'),
          },
        },
        response: answer('`{incidents: [incident], next_cursor}`', 400, 500),
      },
    },
    async (request) => {
      const page = await incidents.list(listQuery(request.query as Record<string, string>));
      const last = page.items[page.items.length - 1];
      return {
        incidents: page.items.map((i) => incidentJson(i, base(request))),
        next_cursor:
          page.more && last !== undefined ? encodeCursor('i', [String(last.first), last.id]) : null,
      };
    },
  );

  app.get(
    '/v1/incidents/:id',
    {
      schema: {
        summary: 'One incident with its comments',
        tags: ['incidents'],
        params: idParams,
        response: answer('the incident', 404, 500),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return incidentJson(found(id, await incidents.get(id)), base(request));
    },
  );

  const change = (
    path: string,
    summary: string,
    body: Record<string, unknown> | undefined,
    act: (id: string, request: FastifyRequest) => Promise<StoredIncident | undefined>,
  ) =>
    app.post(
      `/v1/incidents/:id/${path}`,
      {
        schema: {
          summary,
          tags: ['incidents'],
          params: idParams,
          ...(body === undefined ? {} : { body }),
          response: answer('the incident as it is now', 400, 404, 500),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        return incidentJson(found(id, await act(id, request)), base(request));
      },
    );

  change(
    'acknowledge',
    'Acknowledge: someone is on it (silences re-sends)',
    undefined,
    async (id, request) => {
      const before = await incidents.get(id);
      const after = await incidents.acknowledge(id, who(request));
      if (after !== undefined && before?.state === 'firing' && after.state === 'acknowledged') {
        deps.onAcknowledge?.(after);
      }
      return after;
    },
  );
  change(
    'assign',
    'Assign to someone (assignee null: unassign)',
    {
      type: 'object',
      properties: { assignee: { type: ['string', 'null'], maxLength: 200 } },
      required: ['assignee'],
    },
    async (id, request) => {
      const assignee = bodyText(request.body, 'assignee', true);
      return incidents.assign(id, assignee === undefined || assignee === '' ? null : assignee);
    },
  );
  change(
    'comments',
    'Add a comment',
    {
      type: 'object',
      properties: { text: { type: 'string', minLength: 1, maxLength: MAX_TEXT } },
      required: ['text'],
    },
    async (id, request) => {
      const text = bodyText(request.body, 'text', false) ?? '';
      if (text.trim() === '') {
        throw new VigilError('VIGIL_ERR_INPUT', 'text: a comment needs some text');
      }
      return incidents.comment(id, text, who(request));
    },
  );
  change('resolve', 'Resolve by hand (ends its alerts)', undefined, async (id, request) => {
    const before = await incidents.get(id);
    const after = await incidents.resolve(id, who(request));
    if (after !== undefined && before !== undefined && before.state !== 'resolved') {
      deps.onResolve?.(after);
    }
    return after;
  });
}
