/**
 * The dashboard's login (docs/dashboard.md, Signing in): `POST /v1/session` checks a token and
 * answers with a cookie that carries it, `DELETE /v1/session` clears that cookie, and
 * `GET /v1/session` says whether auth is on and who the caller is. The cookie is `HttpOnly` (page
 * scripts never read the token) and `SameSite=Strict` (requests started by other sites do not
 * carry it); `Secure` when the server speaks TLS. All three routes are public: they check the
 * token themselves, so a caller without one can learn that it needs one.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { VigilError } from '../errors.js';
import { errorResponses } from '../http-api/error-schema.js';
import { JSON_BODY } from '../server/write-guard.js';
import { presentedCredential, TOKEN_COOKIE } from './credentials.js';
import { scopes, type Authenticator, type Principal } from './scope.js';

/** The cookie the dashboard's token travels in; the HTTP auth hook reads the same name. */
export const SESSION_COOKIE = TOKEN_COOKIE;

/** How long a login lasts: a working day, after which the dashboard asks for the token again. */
export const SESSION_MAX_AGE_S = 12 * 3600;

/** What a server without configured tokens checks with: nothing is refused, no one signs in. */
export const AUTH_OFF: Authenticator = { enabled: false, authenticate: () => undefined };

export interface SessionRouteOptions {
  /** Add `Secure` to the cookie: set when the server speaks TLS. */
  readonly secureCookie: boolean;
}

/** RFC 6265 cookie-octets: what a cookie value may hold without quoting or encoding. */
const COOKIE_SAFE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

function cookie(value: string, maxAgeS: number, secure: boolean): string {
  const flags = ['HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${maxAgeS}`];
  if (secure) flags.push('Secure');
  return [`${SESSION_COOKIE}=${value}`, ...flags].join('; ');
}

function who(principal: Principal) {
  // In the scope table's order, so answers are stable.
  return { name: principal.name, scopes: scopes.filter((s) => principal.scopes.has(s)) };
}

function unauthenticated(message: string): VigilError {
  return new VigilError('VIGIL_ERR_UNAUTHENTICATED', message);
}

/** Answers about sessions are per caller and carry a secret: never cached. */
function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
}

const scopeList = {
  type: 'array',
  items: { type: 'string', enum: [...scopes] },
  description: "the token's scopes",
} as const;

const principalSchema = {
  type: 'object',
  description: 'the signed-in token: its name and scopes',
  properties: { name: { type: 'string', description: "the token's name" }, scopes: scopeList },
  required: ['name', 'scopes'],
} as const;

export function registerSessionRoutes(
  app: FastifyInstance,
  authenticator: Authenticator,
  { secureCookie }: SessionRouteOptions,
): void {
  app.post(
    '/v1/session',
    {
      config: { scope: 'public', bodyTypes: JSON_BODY },
      schema: {
        summary: 'Sign in: check a token and store it in an HttpOnly cookie',
        description:
          `Answers the token's name and scopes, and \`Set-Cookie: ${SESSION_COOKIE}=…; HttpOnly; ` +
          `SameSite=Strict; Path=/; Max-Age=${SESSION_MAX_AGE_S}\` (plus \`Secure\` under TLS). ` +
          'Browsers then send the token with every API call and the live stream. Refused from ' +
          'pages of other sites (VIGIL_ERR_CROSS_SITE).',
        tags: ['auth'],
        body: {
          type: 'object',
          properties: { token: { type: 'string', minLength: 1, description: 'an API token' } },
          required: ['token'],
          additionalProperties: false,
        },
        response: { 200: principalSchema, ...errorResponses(400, 401, 403, 415) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      if (!authenticator.enabled) {
        throw unauthenticated('no tokens are configured: this server needs no sign-in');
      }
      const { token } = request.body as { token: string };
      const principal = authenticator.authenticate(token);
      if (principal === undefined) throw unauthenticated('unknown token');
      if (!COOKIE_SAFE.test(token)) {
        throw new VigilError(
          'VIGIL_ERR_INPUT',
          'this token holds characters a cookie cannot carry (space, quote, comma, semicolon, ' +
            'backslash or non-ASCII); send it as Authorization: Bearer instead',
        );
      }
      reply.header('set-cookie', cookie(token, SESSION_MAX_AGE_S, secureCookie));
      return who(principal);
    },
  );

  app.delete(
    '/v1/session',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Sign out: clear the session cookie',
        tags: ['auth'],
        response: { 204: { type: 'null', description: 'cookie cleared' }, ...errorResponses(403) },
      },
    },
    async (_request, reply) => {
      noStore(reply);
      reply.header('set-cookie', cookie('', 0, secureCookie));
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/session',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Whether auth is on, and who the caller is',
        description:
          '`{auth: false}` when no tokens are configured; `{auth: true, name, scopes}` for a ' +
          `valid \`${SESSION_COOKIE}\` cookie or \`Authorization: Bearer\` token; 401 otherwise.`,
        tags: ['auth'],
        response: {
          200: {
            type: 'object',
            description: 'whether auth is on and, if so, who the caller is',
            properties: { auth: { type: 'boolean' }, ...principalSchema.properties },
            required: ['auth'],
          },
          ...errorResponses(401),
        },
      },
    },
    async (request, reply) => {
      noStore(reply);
      if (!authenticator.enabled) return { auth: false };
      const token = presentedCredential(request, { tokenInQuery: false })?.secret;
      if (token === undefined || token === '') throw unauthenticated('not signed in');
      const principal = authenticator.authenticate(token);
      if (principal === undefined) throw unauthenticated('unknown token: sign in again');
      return { auth: true, ...who(principal) };
    },
  );
}
