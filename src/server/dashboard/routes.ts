/**
 * What the dashboard needs beyond the query API: `GET /v1/overview` (the fleet at a glance, one
 * page of devices at a time), `GET /v1/scores` (the live score history of one series, for the
 * chart's score axis: recent scores from memory, older ones and every series from storage),
 * `GET /v1/band` (the expected band over time, band-route.ts),
 * `GET /v1/events/:id` (one event, for the event page), the sign-in routes `/v1/session`
 * (src/auth/session-routes.ts) — and the dashboard's files at `/`.
 * Register after buildHttpServer and before listen.
 */
import { seriesRangeQuery } from '../schemas.js';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../auth/scope.js';
import { AUTH_OFF, registerSessionRoutes } from '../../auth/session-routes.js';
import type { Engine } from '../../engine/engine.js';
import { VigilError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { parseDuration, parseLimit, parseTag, parseTime } from '../query-params.js';
import { errorResponses } from '../../http-api/error-schema.js';
import { sampleIngestRate } from './ingest-rate.js';
import {
  bucketRun,
  emptyRun,
  LEVELS,
  ScoreBuffer,
  type ScoreBufferOptions,
} from './score-buffer.js';
import { mergeBuckets, ScoreHistoryWriter, type ScoreHistoryOptions } from './score-history.js';
import { decodeCursor, encodeCursor, PAGE_LIMIT_MAX } from '../page-cursor.js';
import { registerWebAssets } from './web-assets.js';
import { registerBandRoute } from './band-route.js';
import { resolveUnit } from '../metric-units.js';
import { registerPublic } from '../../auth/public-routes.js';

export interface DashboardOptions {
  readonly engine: Pick<Engine, 'subscribe'>;
  readonly store: Store;
  /** Points accepted by the engine so far (a monotonic counter), for the ingest rate. */
  readonly acceptedPoints: () => number;
  readonly scores?: ScoreBufferOptions;
  /** How the score history is written to storage. */
  readonly scoreHistory?: ScoreHistoryOptions;
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
/** How long the fleet's device and series counts are reused. */
const COUNTS_FOR_MS = 5_000;
/** Devices per overview page unless asked otherwise. */
const OVERVIEW_PAGE = 50;
/** Series listed per device on an overview page at most (the series view lists them all). */
const SERIES_PER_PAGE = 10_000;

const anyObject = (description: string) =>
  ({ type: 'object', description, additionalProperties: true }) as const;

export async function registerDashboard(
  app: FastifyInstance,
  options: DashboardOptions,
): Promise<void> {
  const { store } = options;
  const clock = options.clock ?? Date.now;
  const scores = new ScoreBuffer(options.engine, options.scores);
  const history = new ScoreHistoryWriter(options.engine, store.scoreHistory, {
    log: (message) => app.log.warn(message),
    ...options.scoreHistory,
  });
  const rate = sampleIngestRate(options.acceptedPoints);
  // Counting a large catalogue is a scan (≈ 100 ms at 200,000 series): once per 5 s for every
  // dashboard open, not once per refresh of each.
  let counted: { at: number; counts: ReturnType<Store['querier']['counts']> } | undefined;
  const fleetCounts = (): ReturnType<Store['querier']['counts']> => {
    const at = Date.now();
    if (counted === undefined || at - counted.at >= COUNTS_FOR_MS) {
      const counts = store.querier.counts();
      counted = { at, counts };
      // A failed count is not kept: the next request asks again.
      counts.catch(() => {
        if (counted?.counts === counts) counted = undefined;
      });
    }
    return counted.counts;
  };
  app.addHook('onClose', async () => {
    scores.close();
    rate.stop();
    await history.close();
  });

  app.get(
    '/v1/overview',
    {
      schema: {
        summary: 'The fleet at a glance: one page of devices with their series and current level',
        description:
          'One page of devices (sorted; `q` searches the device id, case-insensitively; ' +
          '`tag=key:value` keeps devices with a series whose points carried that tag; ' +
          '`next_cursor` asks for the next page, null at the end), per device its series ' +
          '(first/last point time, and the last live score and level: from memory with the ' +
          'value, strategy and time scored, else the newest stored score bucket), events ' +
          'overlapping the last hour and day, open events; totals of devices, series and events, ' +
          'and the ingest rate in points per second over the last 30 s.',
        tags: ['query'],
        querystring: {
          type: 'object',
          properties: {
            limit: {
              type: 'string',
              description: `devices per page, 1 to ${PAGE_LIMIT_MAX} (default ${OVERVIEW_PAGE})`,
            },
            cursor: { type: 'string', description: '`next_cursor` of the previous page' },
            q: { type: 'string', description: 'case-insensitive substring of the device id' },
            tag: {
              type: 'string',
              description: '`key:value`: only devices with a series whose points carried it',
            },
          },
          additionalProperties: false,
        },
        response: {
          200: anyObject(
            '`{now, devices: [{device, series: [{metric, first, last, unit?, score?, level?, strategy?, value?, scored_at?}], events_hour, events_day, open_events}], next_cursor, totals: {devices, series}, events: {hour, day, open, capped}, ingest: {points_total, points_per_second}}`',
          ),
          ...errorResponses(400, 500),
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const now = clock();
      const limit =
        q.limit === undefined ? OVERVIEW_PAGE : parseLimit('limit', q.limit, PAGE_LIMIT_MAX);
      const after = q.cursor === undefined ? undefined : decodeCursor('d', q.cursor, 1)[0];
      const [page, totals, events, units] = await Promise.all([
        store.querier.devicePage({
          limit,
          q: q.q,
          ...parseTag(q.tag),
          ...(after === undefined ? {} : { after }),
        }),
        fleetCounts(),
        store.querier.events({ from: now - DAY, to: now + 1, limit: EVENTS_COUNTED }),
        store.metricUnits.list().then((list) => new Map(list.map((u) => [u.metric, u]))),
      ]);
      const series =
        page.items.length === 0
          ? []
          : (await store.querier.seriesPage({ devices: page.items, limit: SERIES_PER_PAGE })).items;
      // Series without a score in memory (none since the start, or their ring went to others):
      // the newest stored bucket.
      const unscored = series.filter((s) => scores.latestOf(s.device, s.metric) === undefined);
      const stored = new Map(
        (await store.scoreHistory.latest(unscored)).map((b) => [`${b.device}\u0000${b.metric}`, b]),
      );
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
      function seriesJson(s: (typeof series)[number]) {
        const live = scores.latestOf(s.device, s.metric);
        const saved = stored.get(`${s.device}\u0000${s.metric}`);
        const unit = resolveUnit(s.metric, units);
        return {
          metric: s.metric,
          first: s.first,
          last: s.last,
          ...(unit === null ? {} : { unit: unit.unit }),
          ...(live !== undefined
            ? {
                score: live.score,
                level: live.level,
                strategy: live.strategy,
                value: live.value,
                scored_at: live.timestamp,
              }
            : saved !== undefined
              ? { score: saved.score, level: LEVELS[saved.level] ?? 'ok', scored_at: saved.time }
              : {}),
        };
      }
      const devices = new Map<string, ReturnType<typeof seriesJson>[]>(
        page.items.map((d) => [d, []]),
      );
      for (const s of series) devices.get(s.device)?.push(seriesJson(s));
      const perSecond = rate.perSecond();
      const last = page.items[page.items.length - 1];
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
        next_cursor: page.more && last !== undefined ? encodeCursor('d', [last]) : null,
        totals,
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
        summary: 'The live score history of one series',
        description:
          'The scores the engine published on its live feed (every flagged score, `ok` scores up ' +
          'to the feed budget): the recent ones as scored, from memory (the last 3600 of a ' +
          'series being looked at or recently scored), older ones, and every series after a ' +
          'restart, from storage as the highest score and level per minute. With `bucket`, the ' +
          'highest score and level per bucket (aligned to the epoch). `threshold_lower` and ' +
          "`threshold_upper`: the strategy's alert threshold in value space, the values that would " +
          "not have alerted, read at the series' first scored point of each minute (the first " +
          'per bucket; null where none was read, or the strategy has none: a detector without a ' +
          'band, warming up, an alert score other than 0.5).',
        tags: ['query'],
        querystring: seriesRangeQuery('ms, or 30s, 5m, 1h, 1d'),
        response: {
          200: anyObject(
            '`{device, metric, stored_before, times, score, level, threshold_lower, threshold_upper}`: scores before `stored_before` come from storage, one per minute',
          ),
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
      // Looking at a series keeps its full-resolution ring from here on.
      scores.watch(device, metric);
      const recent = scores.run(device, metric, from, to);
      // Storage covers what the ring does not hold (the minute the ring starts in included).
      const storedBefore = Math.max(from, Math.min(to, recent.oldest));
      const older =
        from < recent.oldest
          ? mergeBuckets(
              await store.scoreHistory.range(device, metric, from, Math.min(to, recent.oldest)),
              history.unsaved(device, metric, from, Math.min(to, recent.oldest)),
            )
          : emptyRun();
      const run = {
        times: [...older.times, ...recent.times],
        scores: [...older.scores, ...recent.scores],
        levels: [...older.levels, ...recent.levels],
        thresholds: [...older.thresholds, ...recent.thresholds],
      };
      return { device, metric, stored_before: storedBefore, ...bucketRun(run, bucketMs) };
    },
  );

  registerBandRoute(app, store, clock);

  registerSessionRoutes(app, options.auth ?? AUTH_OFF, {
    secureCookie: options.secureCookie ?? false,
  });
  // The page and its scripts carry no data; the API calls they make need a token.
  await registerPublic(app, registerWebAssets);
}
