import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestService, type TestService } from '../server/testing/running-service.js';
import { bearerToken } from './bearer.js';
import { cookieValue } from './credentials.js';
import { AUTH_OFF, registerSessionRoutes } from './session-routes.js';
import { hashSecret, TokenSet } from './token-set.js';

const READER = 'r3ad-secret-0123456789abcdef';
const ADMIN = 'adm1n-secret-0123456789abcdef';
const ODD = 'has space;and-semicolon';

const tokens = new TokenSet([
  { name: 'dash', sha256: hashSecret(READER), scopes: ['read'] },
  { name: 'ops', sha256: hashSecret(ADMIN), scopes: ['admin', 'read'] },
  { name: 'odd', sha256: hashSecret(ODD), scopes: ['read'] },
]);

const json = { 'content-type': 'application/json' };

describe('cookieValue and bearerToken', () => {
  test('find one cookie among several, unquoted, and nothing for a prefix of its name', () => {
    assert.equal(cookieValue('a=1; vigil_token=abc; b=2', 'vigil_token'), 'abc');
    assert.equal(cookieValue('vigil_token="q"', 'vigil_token'), 'q');
    assert.equal(cookieValue('vigil_token_x=1;vigil_token=2', 'vigil_token'), '2');
    assert.equal(cookieValue('other=1', 'vigil_token'), undefined);
    assert.equal(cookieValue(undefined, 'vigil_token'), undefined);
  });

  test('read the token of a Bearer header in any case, and nothing of other schemes', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bEaReR   abc  '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
  });
});

describe('session routes with tokens configured', () => {
  let service: TestService;
  let secure: TestService;
  /** The scope each request's route declared (what the auth hook checks), by method. */
  const scopeOf = new Map<string, string | undefined>();

  before(async () => {
    [service, secure] = await Promise.all([
      startTestService({
        routes: ({ app }) => {
          app.addHook('onRequest', async (request) => {
            scopeOf.set(request.method, request.routeOptions.config.scope);
          });
          registerSessionRoutes(app, tokens, { secureCookie: false });
        },
      }),
      startTestService({
        routes: ({ app }) => registerSessionRoutes(app, tokens, { secureCookie: true }),
      }),
    ]);
  });

  after(async () => {
    await Promise.all([service?.stop(), secure?.stop()]);
  });

  const signIn = (url: string, token: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/session`, {
      method: 'POST',
      headers: { ...json, ...headers },
      body: JSON.stringify({ token }),
    });

  test('a known token signs in: its name and scopes, and an HttpOnly SameSite=Strict cookie', async () => {
    const res = await signIn(service.url, READER);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'dash', scopes: ['read'] });
    assert.equal(
      res.headers.get('set-cookie'),
      `vigil_token=${READER}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`,
    );
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test('under TLS the cookie is also Secure', async () => {
    const res = await signIn(secure.url, ADMIN);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'ops', scopes: ['read', 'admin'] });
    assert.match(res.headers.get('set-cookie') ?? '', /; Secure$/);
  });

  test('an unknown token is refused with 401, an empty one with 400, neither sets a cookie', async () => {
    const res = await signIn(service.url, 'not-a-token');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'VIGIL_ERR_UNAUTHENTICATED');
    assert.equal(res.headers.get('set-cookie'), null);
    const empty = await signIn(service.url, '');
    assert.equal(empty.status, 400);
    assert.equal(empty.headers.get('set-cookie'), null);
  });

  test('a known token a cookie cannot carry is refused with advice, not stored mangled', async () => {
    const res = await signIn(service.url, ODD);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'VIGIL_ERR_INPUT');
    assert.match(body.message, /Authorization: Bearer/);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  test('the write guard covers sign-in: other sites and non-JSON bodies are refused', async () => {
    const cross = await signIn(service.url, READER, { origin: 'https://evil.example' });
    assert.equal(cross.status, 403);
    assert.equal(((await cross.json()) as { code: string }).code, 'VIGIL_ERR_CROSS_SITE');
    assert.equal(cross.headers.get('set-cookie'), null);
    const form = await fetch(`${service.url}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${READER}`,
    });
    assert.equal(form.status, 415);
  });

  test('GET /v1/session names the caller of a cookie or a Bearer token, 401 otherwise', async () => {
    const get = (headers: Record<string, string>) =>
      fetch(`${service.url}/v1/session`, { headers });
    const byCookie = await get({ cookie: `theme=dark; vigil_token=${READER}` });
    assert.equal(byCookie.status, 200);
    assert.deepEqual(await byCookie.json(), { auth: true, name: 'dash', scopes: ['read'] });
    const byBearer = await get({ authorization: `bearer ${ADMIN}` });
    assert.deepEqual(await byBearer.json(), { auth: true, name: 'ops', scopes: ['read', 'admin'] });
    const refused: Record<string, string>[] = [
      {},
      { cookie: 'vigil_token=wrong' },
      { cookie: 'vigil_token=' },
      { authorization: `Basic ${READER}` },
    ];
    for (const headers of refused) {
      const res = await get(headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(((await res.json()) as { code: string }).code, 'VIGIL_ERR_UNAUTHENTICATED');
    }
  });

  test('DELETE /v1/session clears the cookie with the same flags', async () => {
    const res = await fetch(`${service.url}/v1/session`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.equal(
      res.headers.get('set-cookie'),
      'vigil_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0',
    );
    const tls = await fetch(`${secure.url}/v1/session`, { method: 'DELETE' });
    assert.match(tls.headers.get('set-cookie') ?? '', /Max-Age=0; Secure$/);
  });

  test('all three routes are public: they check the token themselves', () => {
    assert.deepEqual(Object.fromEntries(scopeOf), {
      POST: 'public',
      GET: 'public',
      DELETE: 'public',
    });
  });

  test('the OpenAPI document lists the session routes', async () => {
    const doc = (await service.app.inject('/docs')).json();
    const session = doc.paths['/v1/session'];
    assert.ok(session?.get && session?.post && session?.delete, JSON.stringify(session));
    assert.ok(session.post.requestBody, 'POST documents its body');
    assert.ok(session.post.responses['401'], 'POST documents its 401');
  });
});

describe('session routes with auth off', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService({
      routes: ({ app }) => registerSessionRoutes(app, AUTH_OFF, { secureCookie: false }),
    });
  });

  after(() => service?.stop());

  test('GET says auth is off; POST says no sign-in is needed and sets nothing', async () => {
    const res = await fetch(`${service.url}/v1/session`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { auth: false });
    const post = await fetch(`${service.url}/v1/session`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ token: READER }),
    });
    assert.equal(post.status, 401);
    assert.match(((await post.json()) as { message: string }).message, /no tokens are configured/);
    assert.equal(post.headers.get('set-cookie'), null);
  });
});
