/**
 * The secret a request presents, in the forms the clients Vigil serves send it
 * (docs/security.md, "How each client sends its token"), first found wins:
 *
 * 1. `Authorization: Bearer <secret>`: curl, the API, Prometheus `authorization`.
 * 2. `Authorization: Token <secret>`: the InfluxDB v2 clients and Telegraf `outputs.influxdb_v2`.
 * 3. `Authorization: Basic base64(user:secret)`: Telegraf `outputs.influxdb` and Prometheus
 *    `basic_auth`; the password is the token, the user name is ignored (or is the token when
 *    the password is empty, as in `curl -u TOKEN:`).
 * 4. `?p=<secret>`: the InfluxDB v1 `u`/`p` query form, only on routes that declare
 *    `config: { tokenInQuery: true }` (the v1 `/write`), because a URL ends up in proxy logs.
 * 5. Cookie `vigil_token`: the dashboard's login.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The dashboard login's cookie (set HttpOnly, SameSite=Strict by the login route). */
export const TOKEN_COOKIE = 'vigil_token';

export type CredentialSource = 'bearer' | 'token' | 'basic' | 'query' | 'cookie';

export interface Credential {
  readonly secret: string;
  readonly source: CredentialSource;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Whether `?p=` may carry the token (credentials.ts): the InfluxDB v1 write only. */
    tokenInQuery?: boolean;
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function fromAuthorization(value: string): Credential | undefined {
  const match = /^\s*(\S+)\s+(.+?)\s*$/.exec(value);
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  if (scheme === 'bearer') return { secret: rest, source: 'bearer' };
  if (scheme === 'token') return { secret: rest, source: 'token' };
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(rest, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  const secret = password === '' ? user : password;
  return secret === '' ? undefined : { secret, source: 'basic' };
}

/**
 * One cookie's value from a `Cookie` header (RFC 6265 `name=value; name=value`). Parsed here
 * rather than with @fastify/cookie: one cookie is read and none is set on this path, so a plugin
 * (and a dependency) would add nothing.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1);
    }
    return value; // as the login set it: not URI-decoded, so a `%` in a token stays itself
  }
  return undefined;
}

/** The first `p` of a query string, or undefined. */
function queryPassword(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const p = new URLSearchParams(url.slice(q + 1)).get('p');
  return p === null || p === '' ? undefined : p;
}

/** The credential `request` presents, or undefined when it presents none. */
export function presentedCredential(
  request: { readonly headers: IncomingHttpHeaders; readonly url: string },
  options: { readonly tokenInQuery: boolean },
): Credential | undefined {
  const authorization = first(request.headers.authorization);
  if (authorization !== undefined) {
    const found = fromAuthorization(authorization);
    if (found !== undefined) return found;
  }
  if (options.tokenInQuery) {
    const p = queryPassword(request.url);
    if (p !== undefined) return { secret: p, source: 'query' };
  }
  const cookie = cookieValue(first(request.headers.cookie), TOKEN_COOKIE);
  if (cookie !== undefined && cookie !== '') return { secret: cookie, source: 'cookie' };
  return undefined;
}
