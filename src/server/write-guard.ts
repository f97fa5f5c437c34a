/**
 * The guard in front of every route that changes something (POST, PUT, PATCH, DELETE), whoever
 * registers it: a browser request from another site is refused (403 `VIGIL_ERR_CROSS_SITE`)
 * before its body is read, and a body in a content type the route does not declare is refused
 * (415 `VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE`), an empty body that names another type too. Clients
 * that send neither `Origin` nor `Sec-Fetch-Site` (curl, Telegraf, Prometheus) pass the first
 * check. Why both: docs/security.md.
 *
 * A route declares what it reads with `config: { bodyTypes }`; without it a mutating route reads
 * JSON, so a new route is guarded by default.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { VigilError } from '../errors.js';
import { errorSchema } from '../http-api/error-schema.js';

/** Media types (lower case, no parameters) a route reads, or `any` for one that checks its own. */
export type BodyTypes = readonly string[] | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a mutating route's body may be (write-guard.ts); default `application/json`. */
    bodyTypes?: BodyTypes;
  }
}

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const JSON_BODY: BodyTypes = ['application/json'];

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const defaultPorts: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** Whether `origin` (`scheme://host[:port]`) names the server the `Host` header names. */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null` (sandboxed frames, some redirects) or garbage: not this server
  }
  let h = host.toLowerCase();
  const port = defaultPorts[url.protocol];
  if (port !== undefined && h.endsWith(`:${port}`)) h = h.slice(0, -(port.length + 1));
  return url.host === h;
}

/** Why the request comes from another site, or undefined when it does not (or cannot tell). */
export function crossSiteReason(request: FastifyRequest): string | undefined {
  const origin = header(request, 'origin');
  const host = header(request, 'host');
  const site = header(request, 'sec-fetch-site')?.toLowerCase();
  if (origin !== undefined && !sameHost(origin, host)) {
    return `Origin ${origin} is not this server (Host ${host ?? 'missing'})`;
  }
  if (site === 'cross-site') return 'Sec-Fetch-Site: cross-site';
  if (site === 'same-site' && origin === undefined) {
    return 'Sec-Fetch-Site: same-site, from another origin';
  }
  return undefined;
}

function hasBody(request: FastifyRequest): boolean {
  if (header(request, 'transfer-encoding') !== undefined) return true;
  const length = header(request, 'content-length');
  return length !== undefined && length.trim() !== '0';
}

function mediaType(request: FastifyRequest): string | undefined {
  const type = header(request, 'content-type');
  return type?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** The refusal of this mutating request, or undefined when it may go on. */
function refusal(request: FastifyRequest): VigilError | undefined {
  const where = `${request.method} ${request.routeOptions.url ?? request.url}`;
  const crossSite = crossSiteReason(request);
  if (crossSite !== undefined) {
    return new VigilError(
      'VIGIL_ERR_CROSS_SITE',
      `${where}: refused a request from another site (${crossSite}); changes are made from the dashboard on this server or by clients without Origin`,
    );
  }
  const url = request.routeOptions.url;
  const type = mediaType(request);
  // A request that names a type is checked even with an empty body: Fastify would hand `''`
  // to the route as text/plain (a 200 for no points, a 422 for an empty strategy) where the
  // answer is 415. Only a request with neither a body nor a type (promote, discard) passes.
  if (url === undefined || (!hasBody(request) && type === undefined)) return undefined;
  const types = request.routeOptions.config.bodyTypes ?? JSON_BODY;
  if (types === 'any') return undefined;
  if (type !== undefined && types.includes(type)) return undefined;
  return new VigilError(
    'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
    `${where} reads ${types.join(', ')}; the request's Content-Type is ${type ?? 'missing'}`,
  );
}

const CROSS_SITE_RESPONSE = {
  ...errorSchema,
  description:
    '`VIGIL_ERR_CROSS_SITE`: sent by a page of another site (`Origin`, `Sec-Fetch-Site`); with API tokens, also `VIGIL_ERR_FORBIDDEN`: the token lacks the scope',
};

/**
 * The route's schema with the guard's answers declared for the OpenAPI document: 403 on every
 * mutating route, 415 unless the route checks its body type itself (it declares its own). A
 * route that already declares a status keeps its own text; one without a schema is left as is.
 */
export function withGuardResponses(route: RouteOptions): RouteOptions['schema'] {
  const methods = [route.method].flat();
  const schema = route.schema;
  if (schema === undefined || !methods.some((m) => MUTATING_METHODS.has(m))) return schema;
  const types = route.config?.bodyTypes ?? JSON_BODY;
  const guard: Record<string, unknown> = { 403: CROSS_SITE_RESPONSE };
  if (types !== 'any') {
    guard[415] = {
      ...errorSchema,
      description: `\`VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE\`: a body in another content type than ${types.join(', ')}`,
    };
  }
  const own = (schema as { response?: Record<string, unknown> }).response ?? {};
  return { ...schema, response: { ...guard, ...own } };
}

/**
 * Adds the guard as an onRequest hook of `app`: registered before any route, so every route of
 * every scope runs it first. `send` answers a refusal the way the app answers errors. An onRoute
 * hook declares the guard's answers in each mutating route's schema (withGuardResponses).
 */
export function addWriteGuard(
  app: FastifyInstance,
  send: (reply: FastifyReply, err: VigilError) => FastifyReply,
): void {
  app.addHook('onRoute', (route) => {
    route.schema = withGuardResponses(route);
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!MUTATING_METHODS.has(request.method)) return;
    const err = refusal(request);
    if (err !== undefined) return send(reply, err);
  });
}
