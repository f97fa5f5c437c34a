/**
 * Every route `vigil serve` registers (its own, the serve routes, model serving), with a tokens
 * file of one token per scope: without a token 401 (but the public routes), an unknown token
 * 401, a token lacking the route's scope 403, the right one or `admin` neither; and nothing a
 * refused request asked for happened.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import type { RouteScope, Scope } from './scope.js';
import {
  concrete,
  startEveryRouteApp,
  strategyYaml,
  T0,
  type EveryRouteApp,
  type Route,
} from '../server/testing/every-route.js';
import { hashSecret } from './token-set.js';
import { WatchedTokens } from './tokens-watch.js';

const SECRETS: Readonly<Record<Scope, string>> = {
  ingest: 'vgl_test-ingest-secret',
  read: 'vgl_test-read-secret',
  admin: 'vgl_test-admin-secret',
};
const UNKNOWN = 'vgl_not-a-configured-token';

/** What each route must need: the contract this test holds the code to (docs/security.md). */
const PUBLIC = [
  'GET /*',
  'GET /docs',
  'GET /docs/ui',
  'GET /docs/ui/json',
  'GET /docs/ui/static/*',
  'GET /docs/ui/static/index.html',
  'GET /docs/ui/static/swagger-initializer.js',
  'GET /docs/ui/yaml',
  'GET /healthz',
  'GET /js/*',
  'GET /readyz',
  'GET /vendor/diff/*',
  'GET /vendor/uplot/*',
  // The dashboard's sign-in: checks the token it is given (session-routes.test.ts).
  'GET /v1/session',
  'POST /v1/session',
  'DELETE /v1/session',
];
const INGEST = ['POST /v1/points', 'POST /api/v1/write', 'POST /api/v2/write', 'POST /write'];
const ADMIN_READS = ['GET /v1/alerts/dead-letters'];
/** Computes on the caller's data, changes nothing. */
const READ_POSTS = ['POST /v1/models/:name/predict'];

function expectedScope(route: Route): RouteScope {
  const get = route.method === 'HEAD' ? 'GET' : route.method;
  // swagger-ui's HEAD of `/docs/ui` is registered as `/docs/ui/`.
  const key = `${get} ${route.url.length > 1 ? route.url.replace(/\/$/, '') : route.url}`;
  if (PUBLIC.includes(key)) return 'public';
  if (INGEST.includes(key)) return 'ingest';
  if (ADMIN_READS.includes(key)) return 'admin';
  if (READ_POSTS.includes(key)) return 'read';
  return get === 'GET' ? 'read' : 'admin';
}

/** What a refused request would have changed, had it gone through. */
function payloadFor(route: Route): { headers: Record<string, string>; payload?: string } {
  const key = `${route.method} ${route.url}`;
  const json = { 'content-type': 'application/json' };
  switch (key) {
    case 'POST /v1/points':
      return {
        headers: json,
        payload: JSON.stringify([{ timestamp: T0, device_id: 'intruder', metrics: { x: 1 } }]),
      };
    case 'POST /api/v2/write':
    case 'POST /write':
      return { headers: { 'content-type': 'text/plain' }, payload: `m,d=intruder v=1 ${T0}` };
    case 'PUT /v1/strategies/:name':
      return { headers: { 'content-type': 'application/yaml' }, payload: strategyYaml(3) };
    case 'PUT /v1/events/:id/label':
      return { headers: json, payload: JSON.stringify({ label: 'anomaly' }) };
    case 'POST /v1/shadows':
      return { headers: json, payload: JSON.stringify({ yaml: strategyYaml(4) }) };
    default:
      return route.method === 'GET' || route.method === 'HEAD'
        ? { headers: {} }
        : { headers: json, payload: '{}' };
  }
}

describe('authentication and scopes, on every route `vigil serve` registers', () => {
  let fixture: EveryRouteApp;
  let app: FastifyInstance;
  let routes: readonly Route[];
  let engine: Engine;
  let tokens: WatchedTokens;
  let registry: Registry;
  let dir: string;

  const send = (route: Route, headers: Record<string, string>) => {
    const { headers: own, payload } = payloadFor(route);
    return app.inject({
      method: route.method as 'GET',
      url: concrete(route.url),
      headers: { ...own, ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
  };
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
  const isStream = (r: Route) => r.url === '/v1/stream';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-auth-'));
    const file = path.join(dir, 'tokens.yaml');
    await writeFile(
      file,
      `tokens:\n${(Object.keys(SECRETS) as Scope[])
        .map((s) => `  - { name: ${s}-token, sha256: ${hashSecret(SECRETS[s])}, scopes: [${s}] }`)
        .join('\n')}\n`,
    );
    registry = new Registry();
    tokens = await WatchedTokens.open({
      file,
      registry,
      log: { info: () => undefined, warn: () => undefined },
      rescanMs: 0,
    });
    fixture = await startEveryRouteApp({
      auth: tokens,
      setupHeaders: bearer(SECRETS.admin),
      registry,
    });
    ({ app, routes, engine } = fixture);
  });

  after(async () => {
    await fixture.close();
    tokens.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the routes listed include every family', () => {
    const declared = routes
      .filter((r) => r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    assert.ok(declared.length > 30, `${declared.length} routes`);
    for (const known of [...INGEST, ...ADMIN_READS, 'PUT /v1/strategies/:name', 'GET /v1/stream']) {
      assert.ok(declared.includes(known), `${known} not registered`);
    }
  });

  test('without a token: 401 with a Bearer challenge on every route but exactly the public ones (health, API description, dashboard files)', async () => {
    const open: string[] = [];
    for (const route of routes) {
      const res = await send(route, {});
      const what = `${route.method} ${route.url}`;
      if (res.statusCode === 401) {
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="vigil"', what);
        if (route.method !== 'HEAD') {
          assert.equal(res.json<{ code: string }>().code, 'VIGIL_ERR_UNAUTHENTICATED', what);
        }
        assert.notEqual(expectedScope(route), 'public', `${what} is public but refused`);
      } else {
        assert.equal(expectedScope(route), 'public', `${what}: ${res.statusCode} ${res.body}`);
        if (route.method !== 'HEAD') open.push(what);
      }
    }
    assert.deepEqual([...new Set(open)].sort(), [...PUBLIC].sort());
  });

  test('an unknown token, in any form: 401 on every non-public route', async () => {
    const basic = `Basic ${Buffer.from(`u:${UNKNOWN}`).toString('base64')}`;
    const forms: Record<string, string>[] = [
      bearer(UNKNOWN),
      { authorization: `Token ${UNKNOWN}` },
      { authorization: basic },
      { cookie: `vigil_token=${UNKNOWN}` },
    ];
    for (const route of routes.filter((r) => expectedScope(r) !== 'public')) {
      for (const headers of forms) {
        const res = await send(route, headers);
        assert.equal(
          res.statusCode,
          401,
          `${route.method} ${route.url} ${JSON.stringify(headers)}`,
        );
      }
    }
  });

  test('a token lacking the scope: 403 naming the scope and the token, never the secret', async () => {
    const lacking: Readonly<Record<Scope, readonly Scope[]>> = {
      ingest: ['read'],
      read: ['ingest'],
      admin: ['ingest', 'read'],
    };
    for (const route of routes) {
      const needed = expectedScope(route);
      if (needed === 'public') continue;
      for (const holder of lacking[needed]) {
        const res = await send(route, bearer(SECRETS[holder]));
        const what = `${route.method} ${route.url} with the ${holder} token`;
        assert.equal(res.statusCode, 403, `${what}: ${res.body}`);
        if (route.method === 'HEAD') continue;
        const answer = res.json<{ code: string; message: string }>();
        assert.equal(answer.code, 'VIGIL_ERR_FORBIDDEN', what);
        assert.match(answer.message, new RegExp(`needs scope ${needed}; token "${holder}-token"`));
        assert.ok(!answer.message.includes(SECRETS[holder]), `${what}: the secret in the answer`);
      }
    }
  });

  test('nothing a refused request asked for happened', async () => {
    assert.equal(engine.stats().accepted, 0, 'no point reached the engine');
    const admin = bearer(SECRETS.admin);
    const get = (url: string) => app.inject({ method: 'GET', url, headers: admin });
    assert.equal((await get('/v1/shadows/1')).json<{ status: string }>().status, 'running');
    const versions = (await get('/v1/strategies/default/versions')).json<{
      versions: { version: number }[];
    }>();
    assert.deepEqual(
      versions.versions.map((v) => v.version),
      [2],
      'only the shadow candidate is stored',
    );
    const active = (await get('/v1/strategies/active')).json<{ default: { version: number } }>();
    assert.ok(
      active.default.version < 2,
      `the default strategy moved to ${active.default.version}`,
    );
    assert.equal((await get('/v1/events/ev-1')).json<{ label: unknown }>().label, null);
    assert.deepEqual((await get('/v1/devices')).json(), { devices: [], next_cursor: null });
  });

  test('the token holding the scope, and admin, pass on every route', async () => {
    for (const route of routes.filter((r) => !isStream(r))) {
      const needed = expectedScope(route);
      const holders: Scope[] =
        needed === 'public' || needed === 'admin' ? ['admin'] : [needed, 'admin'];
      for (const holder of holders) {
        const res = await send(route, bearer(SECRETS[holder]));
        const what = `${route.method} ${route.url} with the ${holder} token`;
        assert.ok(
          res.statusCode !== 401 && res.statusCode !== 403,
          `${what}: ${res.statusCode} ${res.body}`,
        );
      }
    }
    // The point the ingest token sent (after the admin one's) arrived.
    assert.ok(engine.stats().accepted > 0);
  });

  test('the live stream: 401 without a token, open with a read token', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/v1/stream`;
    assert.equal((await fetch(url)).status, 401);
    const abort = new AbortController();
    const res = await fetch(url, { headers: bearer(SECRETS.read), signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    abort.abort();
  });

  test('a URL no route matches needs a token too; the dashboard answers its own 404s', async () => {
    const none = await app.inject({ method: 'POST', url: '/v1/no-such-route' });
    assert.equal(none.statusCode, 401);
    const withToken = await app.inject({
      method: 'POST',
      url: '/v1/no-such-route',
      headers: bearer(SECRETS.ingest),
    });
    assert.equal(withToken.statusCode, 404);
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
  });

  test('refusals are counted by reason', async () => {
    const text = await registry.metrics();
    for (const reason of ['missing', 'unknown_token', 'scope']) {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`vigil_auth_failures_total{reason="${reason}"}`));
      assert.ok(line !== undefined && Number(line.split(' ').pop()) > 0, `${reason}: ${line}`);
    }
  });
});
