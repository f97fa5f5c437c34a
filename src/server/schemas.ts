/**
 * JSON Schemas of the HTTP API, for the OpenAPI document at /docs and for validating query
 * strings. Query values stay strings here; handlers parse times and durations themselves so that
 * ISO times, `5m` buckets and ms all work and errors name the parameter.
 */
import { errorResponses } from '../http-api/error-schema.js';

const str = (description: string) => ({ type: 'string', description }) as const;

const anyObject = (description: string) =>
  ({ type: 'object', description, additionalProperties: true }) as const;

const responses = (ok: string, ...errors: number[]) => ({
  200: anyObject(ok),
  ...errorResponses(...errors),
});

/** A 200 whose body is text of `type`, not JSON (nothing serialises it). */
const text = (type: string, description: string) =>
  ({ description, content: { [type]: { schema: { type: 'string' } } } }) as const;

const timeText = 'ms since the epoch or ISO 8601';

const pageText =
  'With `limit`, `cursor` or `q`: one page (keyset, sorted by byte order) and `next_cursor` to ' +
  'ask for the next one (null at the end). `tag` pages too. Without them: the whole list, as before paging, ' +
  'with `next_cursor: null`.';

const pageParams = {
  limit: str('rows per page, 1 to 10000 (default 100 when paging)'),
  cursor: str('`next_cursor` of the previous page (opaque)'),
  q: str('case-insensitive substring of the name'),
  tag: str('`key:value`: only series whose points carried this tag (devices: with such a series)'),
} as const;

/** The query of one series over a time range, in buckets (`/v1/scores`, `/v1/band`). */
export function seriesRangeQuery(bucketDescription: string) {
  return {
    type: 'object',
    properties: {
      device: { type: 'string' },
      metric: { type: 'string' },
      from: { type: 'string', description: 'ms or ISO 8601; default to − 1 h' },
      to: { type: 'string', description: 'ms or ISO 8601; default now' },
      bucket: { type: 'string', description: bucketDescription },
    },
    required: ['device', 'metric'],
    additionalProperties: false,
  } as const;
}

export const devicesRoute = {
  summary: 'Devices with at least one stored point, optionally one page of them, searched',
  description: `${pageText} \`q\` matches the device id.`,
  tags: ['query'],
  querystring: {
    type: 'object',
    properties: pageParams,
    additionalProperties: false,
  },
  response: responses('`{devices: string[], next_cursor: string | null}`, sorted', 400, 500),
} as const;

export const seriesRoute = {
  summary:
    'Series (device, metric) with their first and last point time and unit, optionally paged',
  description:
    `${pageText} \`q\` matches the device id or the metric. \`unit\` is the metric's declared ` +
    'unit (`PUT /v1/units/:metric`, `unit_source: declared`), else the one its name implies ' +
    '(`_seconds`, `_bytes`, `_celsius`, …: `unit_source: inferred`), else null.',
  tags: ['query'],
  querystring: {
    type: 'object',
    properties: { device: str('only this device'), ...pageParams },
    additionalProperties: false,
  },
  response: responses(
    '`{series: [{device, metric, first, last, unit, unit_source?}], next_cursor: string | null}`',
    400,
    500,
  ),
} as const;

export const pointsRoute = {
  summary: 'Points of one series in a time range, raw or down-sampled',
  description:
    'Without `bucket`: raw points, oldest first, as columns `{times, values}` (null for a stored ' +
    'non-finite value); `truncated` tells that `limit` cut the answer (ask again from the last ' +
    'time + 1). With `bucket`: per bucket (aligned to the epoch, range widened to whole buckets) ' +
    '`{times, min, max, avg, count}`; empty buckets are omitted.',
  tags: ['query'],
  querystring: {
    type: 'object',
    properties: {
      device: str('device id'),
      metric: str('metric name'),
      from: str(`range start (inclusive), ${timeText}; default: to − 1 h`),
      to: str(`range end (exclusive), ${timeText}; default: now`),
      bucket: str('bucket size: ms, or 30s, 5m, 1h, 1d'),
      limit: str('raw points only: the most to return (default 100000)'),
    },
    required: ['device', 'metric'],
    additionalProperties: false,
  },
  response: responses(
    'raw: `{kind, times, values, truncated}`; buckets: `{kind, bucket_ms, source, times, min, max, avg, count}`',
    400,
    500,
  ),
} as const;

export const eventsRoute = {
  summary: 'Anomaly events, newest first',
  tags: ['query'],
  querystring: {
    type: 'object',
    properties: {
      device: str('only this device'),
      metric: str('only this metric'),
      strategy: str('only this strategy (any version)'),
      level: {
        type: 'string',
        enum: ['alert', 'severe'],
        description: 'minimum level (default alert)',
      },
      from: str(`events overlapping [from, to), ${timeText}`),
      to: str(`events overlapping [from, to), ${timeText}`),
      limit: str('at most this many (default 100, at most 10000)'),
      label: {
        type: 'string',
        enum: ['anomaly', 'false_alarm', 'unsure', 'none', 'any'],
        description: 'only events with this label; none: unlabelled, any: labelled',
      },
      shadow: {
        type: 'string',
        enum: ['exclude', 'include', 'only', 'true', 'false'],
        description:
          'events of shadow runs (docs/shadow.md): exclude (default, also false), include (also true) or only',
      },
      shadow_run: str('only the events of this shadow run (its id)'),
    },
    additionalProperties: false,
  },
  response: responses(
    '`{events: [{id, device, metric, strategy, strategy_version, start, end, peak, level, points, explanation, label, label_note, labelled_at, labelled_by, shadow_run}]}` (`shadow_run`: the shadow run id, null for live events)',
    400,
    500,
  ),
} as const;

export const eventRoute = {
  summary: 'One event by id',
  tags: ['query'],
  params: {
    type: 'object',
    properties: { id: str('the event id (URL-encoded)') },
    required: ['id'],
  },
  response: responses('the event, as in `GET /v1/events`', 404, 500),
} as const;

export const strategiesRoute = {
  summary: 'Stored strategies with their versions',
  tags: ['strategies'],
  response: responses('`{strategies: [{name, latest, versions: [{version, created_at}]}]}`', 500),
} as const;

export const strategyVersionsRoute = {
  summary: 'Every stored version of one strategy, with its YAML',
  tags: ['strategies'],
  params: { type: 'object', properties: { name: str('strategy name') }, required: ['name'] },
  response: responses('`{name, versions: [{version, created_at, yaml}]}`', 404, 500),
} as const;

export const streamRoute = {
  summary: 'Live stream of scores and events (Server-Sent Events)',
  description:
    '`text/event-stream`. Messages `event: score` (data: `{device_id, metric, timestamp, value, ' +
    'score, level, strategy, threshold?}`; `threshold`: `[lower, upper]`, the alert threshold ' +
    "in value space, at a series' first scored point of each minute when its strategy has one) " +
    'and `event: event` (data: `{change, event}`, change one of open, ' +
    'update, close, reopen). A comment line `: heartbeat` every 15 s keeps proxies from closing ' +
    'the connection. Under a slow connection, score messages are skipped (counted in ' +
    '`vigil_sse_dropped_total`); event messages never are.',
  tags: ['stream'],
  querystring: {
    type: 'object',
    properties: {
      device: str('only this device'),
      level: {
        type: 'string',
        enum: ['ok', 'alert', 'severe'],
        description: 'minimum level of scores and events (default ok: everything)',
      },
      type: { type: 'string', enum: ['score', 'event'], description: 'only this kind of message' },
    },
    additionalProperties: false,
  },
  produces: ['text/event-stream'],
  response: {
    200: text('text/event-stream', 'the stream, open until the client disconnects'),
    ...errorResponses(400),
  },
} as const;

export const metricsRoute = {
  summary: 'Prometheus metrics (text exposition format)',
  tags: ['operations'],
  produces: ['text/plain'],
  response: {
    200: text('text/plain', 'every metric, in the Prometheus text exposition format 0.0.4'),
  },
} as const;

export const healthzRoute = {
  summary: 'Liveness: the process is up',
  tags: ['operations'],
  response: responses('`{status: "ok"}`'),
} as const;

export const readyzRoute = {
  summary: 'Readiness: storage reachable and engine started',
  tags: ['operations'],
  response: responses('`{status: "ready", store}`', 503),
} as const;

export const docsRoute = {
  summary: 'This OpenAPI document (JSON); browsers asking for HTML are sent to /docs/ui/',
  tags: ['operations'],
  response: {
    200: anyObject('the OpenAPI 3 document'),
    302: { type: 'null', description: 'to `/docs/ui/`, for a browser (`Accept: text/html`)' },
  },
} as const;
