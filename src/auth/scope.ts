/**
 * Who may do what (docs/security.md): a caller is a principal holding scopes; every HTTP route
 * and gRPC method needs one scope. `admin` holds every scope; `read` and `ingest` only their own.
 * A route declares its scope with `config: { scope }`; without it a GET/HEAD route needs `read`
 * and any other method `admin`, so a new route is closed by default.
 */

export const scopes = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof scopes)[number];

/** What a route needs: a scope, or `public` for routes anyone may call (health, login). */
export type RouteScope = Scope | 'public';

/** An authenticated caller: the token's name (never its secret) and what it may do. */
export interface Principal {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** This token's own rate limits, overriding the configured defaults (docs/security.md). */
  readonly rates?: Rates;
}

/** Sustained rates a caller may use; a burst of one second's worth is allowed. */
export interface Rates {
  readonly requestsPerS?: number;
  readonly pointsPerS?: number;
}

/** Whether `principal` may do what `needed` guards. */
export function allows(principal: Principal, needed: Scope): boolean {
  return principal.scopes.has('admin') || principal.scopes.has(needed);
}

/** Checks presented secrets against the configured tokens. */
export interface Authenticator {
  /** False when no tokens are configured: every request passes (loopback only, see serve). */
  readonly enabled: boolean;
  /** The principal a secret belongs to, or undefined for an unknown secret. */
  authenticate(secret: string): Principal | undefined;
}

/** The scope a route needs when it declares none. */
export function defaultScope(method: string): Scope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'admin';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs for this route (src/auth/scope.ts); default by method. */
    scope?: RouteScope;
  }
  interface FastifyRequest {
    /** The authenticated caller, set by the auth hook; undefined when auth is off. */
    principal?: Principal;
  }
}
