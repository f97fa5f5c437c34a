/**
 * The HTTP server: the app every route family registers on (error answers, request metrics,
 * OpenAPI at /docs), with the read API, the live stream, health and `/metrics`. Ingest routes
 * (src/ingest/*) and model serving register themselves. Every error answer is `{code, message}`
 * with a VIGIL_ERR_* code (docs/errors.md). Hooks added here before any route run for every
 * route: the shutdown answer, authentication (src/auth/http-auth.ts) and the write guard
 * (write-guard.ts), docs/security.md.
 */
import { decodeCursor, encodeCursor, PAGE_LIMIT_MAX } from './page-cursor.js';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type RouteOptions,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Registry } from 'prom-client';
import {
  addRateLimits,
  RateLimitedError,
  RateLimiter,
  type RateLimitOptions,
} from '../auth/rate-limit.js';
import { BackpressureError, type Engine } from '../engine/engine.js';
import { errorCodes, VigilError, type ErrorCode } from '../errors.js';
import type { Store, StoredEvent } from '../store/store.js';
import { capConnections } from './connections.js';
import { httpMetrics, type HttpMetrics } from './metrics.js';
import { parseDuration, parseLimit, parseTag, parseTime } from './query-params.js';
import * as schemas from './schemas.js';
import { registerStream } from './stream.js';
import { registerStrategyRoutes } from './strategy-routes.js';
import { parseShadowFilter, registerShadowRoutes } from './shadow-routes.js';
import type { ShadowService } from '../engine/shadow/shadow-manager.js';
import { parseLabelFilter, registerLabelRoutes } from './label-routes.js';
import { registerMetricUnitRoutes } from './metric-unit-routes.js';
import { withUnits } from './metric-units.js';
import type { StrategySlots } from '../engine/strategy-slots.js';
import { addWriteGuard } from './write-guard.js';
import { httpsOptions, followTls } from '../tls/https.js';
import type { TlsSource } from '../tls/reloader.js';
import { addAuth } from '../auth/http-auth.js';
import { registerPublic } from '../auth/public-routes.js';
import type { Authenticator } from '../auth/scope.js';

export interface HttpLimits {
  /** Largest request body, bytes (413 beyond). Default 8 MiB. */
  readonly bodyBytes: number;
  /** Most buckets one down-sampled query may ask for (400 beyond). Default 100,000. */
  readonly bucketsPerQuery: number;
  /**
   * Most open HTTP connections; Node closes any socket beyond at once (docs/operations.md).
   * Default 10,000: half the default open-file limit of 20,000, leaving room for gRPC, the store
   * pool, the spool and the model files.
   */
  readonly maxConnections: number;
}

export const defaultHttpLimits: HttpLimits = {
  bodyBytes: 8 * 1024 * 1024,
  bucketsPerQuery: 100_000,
  maxConnections: 10_000,
};

export interface HttpServerOptions {
  readonly engine: Pick<Engine, 'subscribe'>;
  readonly store: Store;
  /** Where the server's metrics live and what /metrics exposes (shared with the engine). */
  readonly registry: Registry;
  /** A pino-compatible logger, or a level for a JSON logger on stdout; default `info`. */
  readonly logger?: FastifyBaseLogger | { readonly level: string };
  readonly limits?: Partial<HttpLimits>;
  /** Live-stream heartbeat period, ms (default 15 s). */
  readonly heartbeatMs?: number;
  /** Extra readiness condition (e.g. engine started); /readyz also pings the store. */
  readonly isReady?: () => boolean;
  /** Hot reload: enables `PUT /v1/strategies/:name`, rollback and `/v1/strategies/active`. */
  readonly strategies?: StrategySlots;
  /** Shadow runs (docs/shadow.md): enables `/v1/shadows`. */
  readonly shadows?: ShadowService;
  /** API tokens every route is checked against (src/auth/http-auth.ts); none: auth off. */
  readonly auth?: Authenticator;
  /** Rate limits per caller (src/auth/rate-limit.ts); default none. */
  readonly rateLimits?: RateLimitOptions;
  /** Told of every route as it is registered, by any subsystem (tests list the routes). */
  readonly onRoute?: (route: RouteOptions) => void;
  /** HTTPS (HTTP/1.1 over TLS) with this certificate, followed as it is reloaded (src/tls). */
  readonly tls?: TlsSource;
}

/** Seconds a client is told to wait before retrying a server that is not ready. */
const NOT_READY_RETRY_S = 5;

interface ErrorAnswer {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryAfterS?: number;
}

function isLogger(value: unknown): value is FastifyBaseLogger {
  return typeof value === 'object' && value !== null && 'child' in value && 'info' in value;
}

function vigil(code: ErrorCode, message: string, extra?: { retryAfterS: number }): ErrorAnswer {
  return { status: errorCodes[code].httpStatus, code, message, ...extra };
}

/** Anything thrown in a handler or by Fastify itself → the answer. */
function toErrorAnswer(err: unknown, limits: HttpLimits): ErrorAnswer {
  if (err instanceof BackpressureError) {
    return vigil('VIGIL_ERR_BACKPRESSURE', err.message, {
      retryAfterS: Math.max(1, Math.ceil(err.retryAfterMs / 1000)),
    });
  }
  if (err instanceof RateLimitedError) {
    return vigil(err.code, err.message, { retryAfterS: err.retryAfterS });
  }
  if (err instanceof VigilError) return vigil(err.code, err.message);
  const fe = err as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return vigil(
      'VIGIL_ERR_PAYLOAD_TOO_LARGE',
      `request body larger than the limit of ${limits.bodyBytes} bytes: split the batch`,
    );
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return vigil(
      'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
      `request body in a content type this route does not read: ${fe.message ?? ''}`,
    );
  }
  if (fe.validation !== undefined) return vigil('VIGIL_ERR_INPUT', fe.message ?? 'invalid request');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return vigil('VIGIL_ERR_INPUT', fe.message ?? 'bad request');
  }
  return vigil('VIGIL_ERR_INTERNAL', 'unexpected server error; see the log');
}

function sendError(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  if (answer.retryAfterS !== undefined) reply.header('retry-after', String(answer.retryAfterS));
  return reply.code(answer.status).send({ code: answer.code, message: answer.message });
}

/** NaN (a stored NULL) has no JSON: null. */
function column(values: Float64Array): (number | null)[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? v : null));
}

export function eventJson(e: StoredEvent) {
  return {
    id: e.id,
    device: e.device,
    metric: e.metric,
    strategy: e.strategy,
    strategy_version: e.strategyVersion,
    start: e.start,
    end: e.end,
    peak: e.peak,
    level: e.level,
    points: e.points,
    explanation: e.explanation,
    label: e.label?.label ?? null,
    label_note: e.label?.note ?? null,
    labelled_at: e.label?.at ?? null,
    labelled_by: e.label?.by ?? null,
    shadow_run: e.shadowRun ?? null,
  };
}

type Query = Record<string, string | undefined>;

/** A listing asked for a page (else the whole list, as before paging existed). */
const isPaged = (q: Query): boolean =>
  q.limit !== undefined ||
  q.cursor !== undefined ||
  (q.q !== undefined && q.q !== '') ||
  q.tag !== undefined;

export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { engine, store, registry } = options;
  const limits: HttpLimits = { ...defaultHttpLimits, ...options.limits };
  const metrics: HttpMetrics = httpMetrics(registry);
  const common = {
    bodyLimit: limits.bodyBytes,
    // Per-request lines would flood the log at ingest rates; onResponse logs them at debug.
    logController: new LogController({ disableRequestLogging: true }),
    // Stops a slow client from holding the server open for ever; SSE sets its own socket.
    requestTimeout: 120_000,
    // Requests arriving while closing get a Vigil error from the onRequest hook below instead.
    return503OnClosing: false,
    // Event ids (`device/metric|strategy@version|start`) outgrow Fastify's default of 100.
    routerOptions: { maxParamLength: 2048 },
    ...(options.tls && httpsOptions(options.tls)),
  };
  const app: FastifyInstance = isLogger(options.logger)
    ? Fastify({ ...common, loggerInstance: options.logger })
    : Fastify({ ...common, logger: { level: options.logger?.level ?? 'info' } });
  if (options.tls) followTls(app, options.tls);

  if (options.onRoute !== undefined) app.addHook('onRoute', options.onRoute);
  capConnections(app.server, limits.maxConnections, registry);

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const notReady = (reply: FastifyReply, why: string) =>
    sendError(reply, vigil('VIGIL_ERR_NOT_READY', why, { retryAfterS: NOT_READY_RETRY_S }));
  // Before any route is registered, so it runs first for every route of every scope.
  app.addHook('onRequest', async (_request, reply) => {
    if (closing) return notReady(reply, 'shutting down: retry on another instance or later');
  });
  const refuse = (reply: FastifyReply, err: VigilError) =>
    sendError(reply, vigil(err.code, err.message));
  // Authentication first: an unauthenticated caller learns nothing from the write guard.
  if (options.auth !== undefined) addAuth(app, options.auth, registry, refuse);
  addWriteGuard(app, refuse);
  // A preParsing hook: after every onRequest hook, authentication's included.
  addRateLimits(app, new RateLimiter(registry, options.rateLimits));

  app.setErrorHandler((err: unknown, request, reply) => {
    const answer = toErrorAnswer(err, limits);
    if (answer.status >= 500 && answer.code !== 'VIGIL_ERR_BACKPRESSURE') {
      request.log.error({ err }, 'request failed');
    }
    return sendError(reply, answer);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, vigil('VIGIL_ERR_NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request',
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Vigil',
        description: 'Real-time anomaly detection: ingest, query, live stream, operations',
        version: '1',
      },
      tags: [
        { name: 'ingest' },
        { name: 'query' },
        { name: 'strategies' },
        { name: 'labels' },
        { name: 'stream' },
        { name: 'operations' },
      ],
    },
  });
  // The API's description carries no data: public, like the dashboard's files.
  await registerPublic(app, async (scope) => {
    await scope.register(swaggerUi, {
      routePrefix: '/docs/ui',
      uiConfig: { docExpansion: 'list' },
    });
  });

  const publicRoute = { scope: 'public' } as const;
  app.get('/docs', { schema: schemas.docsRoute, config: publicRoute }, async (request, reply) => {
    const accept = request.headers.accept ?? '';
    if (accept.includes('text/html')) return reply.redirect('/docs/ui/');
    return app.swagger();
  });

  // --- query --------------------------------------------------------------------------------
  app.get('/v1/devices', { schema: schemas.devicesRoute }, async (request) => {
    const q = request.query as Query;
    if (!isPaged(q)) return { devices: await store.querier.devices(), next_cursor: null };
    const page = await store.querier.devicePage({
      limit: q.limit === undefined ? undefined : parseLimit('limit', q.limit, PAGE_LIMIT_MAX),
      ...(q.cursor === undefined ? {} : { after: decodeCursor('d', q.cursor, 1)[0] }),
      q: q.q,
      ...parseTag(q.tag),
    });
    const last = page.items[page.items.length - 1];
    return {
      devices: page.items,
      next_cursor: page.more && last !== undefined ? encodeCursor('d', [last]) : null,
    };
  });

  app.get('/v1/series', { schema: schemas.seriesRoute }, async (request) => {
    const q = request.query as Query;
    // Each series with its metric's unit: declared (a small table, read whole) or inferred.
    const units = store.metricUnits.list().then((list) => new Map(list.map((u) => [u.metric, u])));
    units.catch(() => undefined);
    if (!isPaged(q)) {
      const series = await store.querier.series(q.device);
      return { series: withUnits(series, await units), next_cursor: null };
    }
    const after = q.cursor === undefined ? undefined : decodeCursor('s', q.cursor, 2);
    const page = await store.querier.seriesPage({
      limit: q.limit === undefined ? undefined : parseLimit('limit', q.limit, PAGE_LIMIT_MAX),
      device: q.device,
      ...(after === undefined ? {} : { after: { device: after[0]!, metric: after[1]! } }),
      q: q.q,
      ...parseTag(q.tag),
    });
    const last = page.items[page.items.length - 1];
    return {
      series: withUnits(page.items, await units),
      next_cursor:
        page.more && last !== undefined ? encodeCursor('s', [last.device, last.metric]) : null,
    };
  });

  app.get('/v1/points', { schema: schemas.pointsRoute }, async (request) => {
    const q = request.query as Query;
    const device = q.device ?? '';
    const metric = q.metric ?? '';
    const to = q.to === undefined ? Date.now() : parseTime('to', q.to);
    const from = q.from === undefined ? to - 3_600_000 : parseTime('from', q.from);
    if (!(from < to)) {
      throw new VigilError('VIGIL_ERR_INPUT', `from (${from}) must be before to (${to})`);
    }
    if (q.bucket !== undefined) {
      const bucketMs = parseDuration('bucket', q.bucket);
      const buckets = Math.ceil((to - from) / bucketMs);
      if (buckets > limits.bucketsPerQuery) {
        throw new VigilError(
          'VIGIL_ERR_INPUT',
          `bucket: ${buckets} buckets in the range, the limit is ${limits.bucketsPerQuery}: use a larger bucket or a shorter range`,
        );
      }
      const r = await store.querier.points({ device, metric, from, to, bucketMs });
      if (r.kind === 'buckets') {
        return {
          device,
          metric,
          kind: r.kind,
          bucket_ms: r.bucketMs,
          source: r.source,
          times: Array.from(r.times),
          min: column(r.min),
          max: column(r.max),
          avg: column(r.avg),
          count: Array.from(r.count),
        };
      }
    }
    const limit = q.limit === undefined ? undefined : parseLimit('limit', q.limit, 1_000_000);
    const r = await store.querier.points({ device, metric, from, to, limit });
    if (r.kind !== 'raw') throw new VigilError('VIGIL_ERR_STORE_QUERY', 'expected raw points');
    return {
      device,
      metric,
      kind: r.kind,
      times: Array.from(r.times),
      values: column(r.values),
      truncated: r.truncated,
    };
  });

  app.get('/v1/events', { schema: schemas.eventsRoute }, async (request) => {
    const q = request.query as Query;
    const events = await store.querier.events({
      ...(q.device === undefined ? {} : { device: q.device }),
      ...(q.metric === undefined ? {} : { metric: q.metric }),
      ...(q.strategy === undefined ? {} : { strategy: q.strategy }),
      ...(q.level === 'alert' || q.level === 'severe' ? { minLevel: q.level } : {}),
      ...(q.from === undefined ? {} : { from: parseTime('from', q.from) }),
      ...(q.to === undefined ? {} : { to: parseTime('to', q.to) }),
      ...(q.limit === undefined ? {} : { limit: parseLimit('limit', q.limit, 10_000) }),
      ...(q.label === undefined ? {} : { label: parseLabelFilter(q.label) }),
      ...parseShadowFilter(q.shadow, q.shadow_run),
    });
    return { events: events.map(eventJson) };
  });

  app.get('/v1/events/:id', { schema: schemas.eventRoute }, async (request) => {
    const { id } = request.params as { id: string };
    const event = await store.events.get(id);
    if (event === undefined) {
      throw new VigilError('VIGIL_ERR_NOT_FOUND', `no event with id ${JSON.stringify(id)}`);
    }
    return eventJson(event);
  });

  app.get('/v1/strategies', { schema: schemas.strategiesRoute }, async () => {
    const byName = new Map<string, { version: number; created_at: number }[]>();
    for (const s of await store.strategies.list()) {
      const versions = byName.get(s.name) ?? [];
      versions.push({ version: s.version, created_at: s.createdAt });
      byName.set(s.name, versions);
    }
    return {
      strategies: [...byName].map(([name, versions]) => ({
        name,
        latest: Math.max(...versions.map((v) => v.version)),
        versions,
      })),
    };
  });

  app.get(
    '/v1/strategies/:name/versions',
    { schema: schemas.strategyVersionsRoute },
    async (request) => {
      const { name } = request.params as { name: string };
      const listed = (await store.strategies.list()).filter((s) => s.name === name);
      if (listed.length === 0) {
        throw new VigilError(
          'VIGIL_ERR_STRATEGY_NOT_FOUND',
          `no stored strategy named ${JSON.stringify(name)}`,
        );
      }
      const versions = [];
      for (const s of listed) {
        const full = await store.strategies.get(name, s.version);
        if (full)
          versions.push({ version: full.version, created_at: full.createdAt, yaml: full.yaml });
      }
      return { name, versions };
    },
  );

  if (options.strategies !== undefined) registerStrategyRoutes(app, options.strategies);
  if (options.shadows !== undefined) registerShadowRoutes(app, options.shadows);
  registerLabelRoutes(app, store, eventJson);
  registerMetricUnitRoutes(app, store);

  // --- live stream --------------------------------------------------------------------------
  registerStream(app, {
    engine,
    metrics,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    schema: schemas.streamRoute,
  });

  // --- operations ---------------------------------------------------------------------------
  const metricsRoute = { schema: schemas.metricsRoute, config: { scope: 'read' } } as const;
  app.get('/metrics', metricsRoute, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  // Probes answer anyone: they say whether the process runs, nothing of its data.
  const healthz = { schema: schemas.healthzRoute, config: publicRoute };
  app.get('/healthz', healthz, async () => ({ status: 'ok' }));

  const readyz = { schema: schemas.readyzRoute, config: publicRoute };
  app.get('/readyz', readyz, async (_request, reply) => {
    if (closing) return notReady(reply, 'shutting down');
    if (options.isReady && !options.isReady()) return notReady(reply, 'engine not started');
    try {
      await withTimeout(store.strategies.list(), 2_000);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return notReady(reply, `storage unreachable: ${why}`);
    }
    return { status: 'ready', store: store.info.backend, timescale: store.info.timescale };
  });

  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
