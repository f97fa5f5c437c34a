/**
 * The authentication and authorisation check in front of every HTTP route, whoever registers it
 * (docs/security.md, "Authentication and scopes"). A route needs the scope it declares with
 * `config: { scope }`, else the default of its method (scope.ts); `public` routes pass. With
 * authentication on, a request without a known token is refused 401 `VIGIL_ERR_UNAUTHENTICATED`,
 * one whose token lacks the scope 403 `VIGIL_ERR_FORBIDDEN`, before its body is read.
 *
 * A URL no route matches needs a valid token of any scope, so the API cannot be probed without
 * one (the dashboard's files are public and answer their own 404s under `/`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { counter } from '../metrics/registry.js';
import { presentedCredential } from './credentials.js';
import { allows, defaultScope, type Authenticator, type RouteScope } from './scope.js';

/** Label values of `vigil_auth_failures_total{reason}`. */
export type AuthFailureReason = 'missing' | 'unknown_token' | 'scope';

/** The challenge a 401 carries: any client that can send a token sends it as Bearer. */
export const AUTH_CHALLENGE = 'Bearer realm="vigil"';

/** The scope `request`'s route needs, or undefined for a URL no route matches. */
export function routeScope(request: FastifyRequest): RouteScope | undefined {
  if (request.routeOptions.url === undefined) return undefined;
  return request.routeOptions.config.scope ?? defaultScope(request.method);
}

/**
 * Adds the check as an onRequest hook of `app`: registered before any route, so every route of
 * every scope runs it. `send` answers a refusal the way the app answers errors.
 */
export function addAuth(
  app: FastifyInstance,
  authenticator: Authenticator,
  registry: Registry,
  send: (reply: FastifyReply, err: VigilError) => FastifyReply,
): void {
  const failures = counter(
    registry,
    'vigil_auth_failures_total',
    'HTTP requests refused by authentication, by reason: missing, unknown_token, scope',
    ['reason'],
  );
  app.addHook('onRequest', async (request, reply) => {
    if (!authenticator.enabled) return;
    const needed = routeScope(request);
    const where = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
    const credential = presentedCredential(request, {
      tokenInQuery: request.routeOptions.config?.tokenInQuery === true,
    });
    const principal =
      credential === undefined ? undefined : authenticator.authenticate(credential.secret);
    if (principal !== undefined) request.principal = principal;
    if (needed === 'public') return;
    if (principal === undefined) {
      const reason: AuthFailureReason = credential === undefined ? 'missing' : 'unknown_token';
      failures.inc({ reason });
      reply.header('www-authenticate', AUTH_CHALLENGE);
      const why =
        credential === undefined
          ? 'no API token presented (Authorization: Bearer <token>)'
          : `the ${credential.source} token presented is not a configured token`;
      return send(reply, new VigilError('VIGIL_ERR_UNAUTHENTICATED', `${where}: ${why}`));
    }
    if (needed === undefined || allows(principal, needed)) return;
    failures.inc({ reason: 'scope' });
    const held = [...principal.scopes].join(', ') || 'none';
    return send(
      reply,
      new VigilError(
        'VIGIL_ERR_FORBIDDEN',
        `${where} needs scope ${needed}; token ${JSON.stringify(principal.name)} has ${held}`,
      ),
    );
  });
}
