/**
 * What the dashboard needs beyond the query API: `GET /v1/overview` (the fleet at a glance),
 * `GET /v1/scores` (recent live scores of one series, for the chart's score axis),
 * `GET /v1/events/:id` (one event, for the event page), the sign-in routes `/v1/session`
 * (src/auth/session-routes.ts) — and the dashboard's files at `/`.
 * Register after buildHttpServer and before listen.
 */
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../auth/scope.js';
import { AUTH_OFF, registerSessionRoutes } from '../../auth/session-routes.js';
import type { Engine } from '../../engine/engine.js';
import { VigilError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { parseDuration, parseTime } from '../query-params.js';
import { errorResponses } from '../../http-api/error-schema.js';
import { sampleIngestRate } from './ingest-rate.js';
import { ScoreBuffer, type ScoreBufferOptions } from './score-buffer.js';
import { registerWebAssets } from './web-assets.js';
import { registerPublic } from '../../auth/public-routes.js';

export interface DashboardOptions {
  readonly engine: Pick<Engine, 'subscribe'>;
  readonly store: Store;
  /** Points accepted by the engine so far (a monotonic counter), for the ingest rate. */
  readonly acceptedPoints: () => number;
  readonly scores?: ScoreBufferOptions;
  /** Clock for "events in the last hour/day" (default Date.now). */
  readonly clock?: () => number;
  /** The tokens the sign-in routes check; default none (auth off, `GET /v1/session` says so). */
  readonly auth?: Authenticator;
  /** Mark the session cookie `Secure` (the server speaks TLS). Default false. */
  readonly secureCookie?: boolean;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The most events counted for the overview; beyond it the counts say "at least". */
const EVENTS_COUNTED = 10_000;

const anyObject = (description: string) =>
  ({ type: 'object', description, additionalProperties: true }) as const;

export async function registerDashboard(
  app: FastifyInstance,
  options: DashboardOptions,
): Promise<void> {
  const { store } = options;
  const clock = options.clock ?? Date.now;
  const scores = new ScoreBuffer(options.engine, options.scores);
  const rate = sampleIngestRate(options.acceptedPoints);
  app.addHook('onClose', async () => {
    scores.close();
    rate.stop();
  });

  app.get(
    '/v1/overview',
    {
      schema: {
        summary: 'The fleet at a glance: devices, series with their current level, event counts',
        description:
          'Per device its series (first/last point time, and the last live score, level and ' +
          'strategy seen since the service started), events overlapping the last hour and day, ' +
          'open events; totals, and the ingest rate in points per second over the last 30 s.',
        tags: ['query'],
        response: {
          200: anyObject(
            '`{now, devices: [{device, series: [{metric, first, last, score?, level?, strategy?, value?, scored_at?}], events_hour, events_day, open_events}], events: {hour, day, open, capped}, ingest: {points_total, points_per_second}}`',
          ),
          ...errorResponses(500),
        },
      },
    },
    async () => {
      const now = clock();
      const [series, events] = await Promise.all([
        store.querier.series(),
        store.querier.events({ from: now - DAY, to: now + 1, limit: EVENTS_COUNTED }),
      ]);
      const latest = new Map(scores.latest().map((s) => [`${s.device}\u0000${s.metric}`, s]));
      type Count = { hour: number; day: number; open: number };
      const counts = new Map<string, Count>();
      const total: Count = { hour: 0, day: 0, open: 0 };
      for (const e of events) {
        const c = counts.get(e.device) ?? { hour: 0, day: 0, open: 0 };
        const end = e.end ?? Infinity;
        for (const into of [c, total]) {
          into.day++;
          if (end >= now - HOUR) into.hour++;
          if (e.end === null) into.open++;
        }
        counts.set(e.device, c);
      }
      const devices = new Map<string, ReturnType<typeof seriesJson>[]>();
      function seriesJson(s: (typeof series)[number]) {
        const live = latest.get(`${s.device}\u0000${s.metric}`);
        return {
          metric: s.metric,
          first: s.first,
          last: s.last,
          ...(live === undefined
            ? {}
            : {
                score: live.score,
                level: live.level,
                strategy: live.strategy,
                value: live.value,
                scored_at: live.timestamp,
              }),
        };
      }
      for (const s of series) {
        const list = devices.get(s.device) ?? [];
        list.push(seriesJson(s));
        devices.set(s.device, list);
      }
      const perSecond = rate.perSecond();
      return {
        now,
        devices: [...devices].map(([device, list]) => {
          const c = counts.get(device) ?? { hour: 0, day: 0, open: 0 };
          return {
            device,
            series: list,
            events_hour: c.hour,
            events_day: c.day,
            open_events: c.open,
          };
        }),
        events: { ...total, capped: events.length >= EVENTS_COUNTED },
        ingest: {
          points_total: rate.total(),
          points_per_second: perSecond === null ? null : Math.round(perSecond * 10) / 10,
        },
      };
    },
  );

  app.get(
    '/v1/scores',
    {
      schema: {
        summary: 'Recent live scores of one series (kept in memory, not stored)',
        description:
          'The scores the engine published since the service started, at most the last 3600 per ' +
          'series: every flagged score, and `ok` scores up to the live feed budget. With ' +
          '`bucket`, the highest score and level per bucket (aligned to the epoch).',
        tags: ['query'],
        querystring: {
          type: 'object',
          properties: {
            device: { type: 'string' },
            metric: { type: 'string' },
            from: { type: 'string', description: 'ms or ISO 8601; default to − 1 h' },
            to: { type: 'string', description: 'ms or ISO 8601; default now' },
            bucket: { type: 'string', description: 'ms, or 30s, 5m, 1h, 1d' },
          },
          required: ['device', 'metric'],
          additionalProperties: false,
        },
        response: {
          200: anyObject('`{device, metric, times, score, level}`'),
          ...errorResponses(400),
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const device = q.device ?? '';
      const metric = q.metric ?? '';
      const to = q.to === undefined ? clock() : parseTime('to', q.to);
      const from = q.from === undefined ? to - HOUR : parseTime('from', q.from);
      if (!(from < to)) {
        throw new VigilError('VIGIL_ERR_INPUT', `from (${from}) must be before to (${to})`);
      }
      const bucketMs = q.bucket === undefined ? undefined : parseDuration('bucket', q.bucket);
      return { device, metric, ...scores.range(device, metric, from, to, bucketMs) };
    },
  );

  registerSessionRoutes(app, options.auth ?? AUTH_OFF, {
    secureCookie: options.secureCookie ?? false,
  });
  // The page and its scripts carry no data; the API calls they make need a token.
  await registerPublic(app, registerWebAssets);
}
