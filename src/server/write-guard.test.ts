import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { openStore } from '../store/open-store.js';
import { buildHttpServer } from './http.js';
import {
  concrete,
  startEveryRouteApp,
  strategyYaml,
  T0,
  type EveryRouteApp,
  type Route,
} from './testing/every-route.js';
import { startTestService } from './testing/running-service.js';
import { MUTATING_METHODS } from './write-guard.js';

const EVIL = 'https://evil.example';

describe('the write guard, on every route `vigil serve` registers', () => {
  let fixture: EveryRouteApp;
  let app: FastifyInstance;
  let routes: readonly Route[];

  before(async () => {
    fixture = await startEveryRouteApp();
    ({ app, routes } = fixture);
  });

  after(() => fixture.close());

  const mutating = () => routes.filter((r) => MUTATING_METHODS.has(r.method));

  test('the routes listed include every family', () => {
    const listed = new Set(mutating().map((r) => `${r.method} ${r.url}`));
    for (const known of [
      'POST /v1/points',
      'PUT /v1/strategies/:name',
      'POST /v1/strategies/:name/rollback',
      'POST /v1/shadows',
      'POST /v1/shadows/:id/promote',
      'POST /v1/shadows/:id/discard',
      'PUT /v1/events/:id/label',
      'DELETE /v1/events/:id/label',
      'POST /api/v1/write',
      'POST /api/v2/write',
      'POST /write',
      'POST /v1/models/:name/predict',
    ]) {
      assert.ok(listed.has(known), `${known} not among ${[...listed].join(', ')}`);
    }
  });

  test('every mutating route refuses a cross-site request before reading it', async () => {
    const attempts: Record<string, string>[] = [
      { origin: EVIL, 'content-type': 'application/json' },
      { origin: EVIL, 'content-type': 'text/plain' },
      { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      { origin: 'null', 'content-type': 'application/json' },
      { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' },
      { 'sec-fetch-site': 'same-site', 'content-type': 'application/json' },
    ];
    for (const route of mutating()) {
      const url = concrete(route.url);
      for (const headers of attempts) {
        const res = await app.inject({
          method: route.method as 'POST',
          url,
          headers,
          payload: '{}',
        });
        const what = `${route.method} ${url} ${JSON.stringify(headers)}`;
        assert.equal(res.statusCode, 403, `${what}: ${res.body}`);
        assert.equal(res.json<{ code: string }>().code, 'VIGIL_ERR_CROSS_SITE', what);
      }
      // A bodyless request (a form-less fetch, a link) too.
      const bare = await app.inject({
        method: route.method as 'POST',
        url,
        headers: { origin: EVIL },
      });
      assert.equal(bare.statusCode, 403, `${route.method} ${url} without a body: ${bare.body}`);
    }
  });

  test('nothing changed: the shadow run, the strategy and the label are as before', async () => {
    const promote = await app.inject({
      method: 'POST',
      url: '/v1/shadows/1/promote',
      headers: { origin: EVIL },
    });
    assert.equal(promote.statusCode, 403);
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/strategies/default',
      headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/yaml' },
      payload: strategyYaml(3),
    });
    assert.equal(put.statusCode, 403);

    const run = await app.inject({ method: 'GET', url: '/v1/shadows/1' });
    assert.equal(run.json<{ status: string }>().status, 'running');
    const versions = await app.inject({ method: 'GET', url: '/v1/strategies/default/versions' });
    const stored = versions.json<{ versions: { version: number }[] }>().versions;
    assert.deepEqual(
      stored.map((v) => v.version),
      [2],
      'only the shadow candidate is stored',
    );
    const active = await app.inject({ method: 'GET', url: '/v1/strategies/active' });
    const fallback = active.json<{ default: { name: string; version: number } }>().default;
    assert.ok(fallback.version < 2, `the default strategy moved to ${fallback.version}`);
    const event = await app.inject({ method: 'GET', url: '/v1/events/ev-1' });
    assert.equal(event.json<{ label: unknown }>().label, null);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/v1/events?shadow=include' }))
        .json<{ events: unknown[] }>()
        .events.some((e) => (e as { label: unknown }).label !== null),
      false,
    );
  });

  test('GET routes are unaffected by Origin and Sec-Fetch-Site', async () => {
    const gets = routes.filter(
      (r) => r.method === 'GET' && !r.url.includes('stream') && !r.url.includes('live'),
    );
    assert.ok(gets.length > 10);
    for (const route of gets) {
      const url = concrete(route.url);
      const res = await app.inject({
        method: 'GET',
        url,
        headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' },
      });
      assert.notEqual(res.statusCode, 403, `GET ${url}: ${res.body}`);
    }
  });

  test('same-origin requests (the dashboard) and clients without Origin go through', async () => {
    const label = (headers: Record<string, string>) =>
      app.inject({
        method: 'PUT',
        url: '/v1/events/ev-1/label',
        headers: { 'content-type': 'application/json', ...headers },
        payload: { label: 'unsure' },
      });
    // inject's Host is localhost:80.
    const allowed: Record<string, string>[] = [
      {},
      { origin: 'http://localhost', 'sec-fetch-site': 'same-origin' },
      { origin: 'http://localhost:80' },
      { 'sec-fetch-site': 'none' },
    ];
    for (const headers of allowed) {
      const res = await label(headers);
      assert.equal(res.statusCode, 200, `${JSON.stringify(headers)}: ${res.body}`);
    }
    for (const origin of ['http://localhost:8080', 'https://localhost', 'http://localhost.evil']) {
      assert.equal((await label({ origin })).statusCode, 403, origin);
    }
    const cleared = await app.inject({
      method: 'DELETE',
      url: '/v1/events/ev-1/label',
      headers: { origin: 'http://localhost', 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(cleared.statusCode, 200, cleared.body);
  });

  test('a body in a type the route does not declare is 415; bodyless POSTs pass', async () => {
    const send = (method: 'POST' | 'PUT', url: string, type: string | undefined, body: string) =>
      app.inject({
        method,
        url,
        headers: type === undefined ? {} : { 'content-type': type },
        payload: body,
      });
    const refused: [method: 'POST' | 'PUT', url: string, type: string | undefined][] = [
      ['POST', '/v1/points', 'text/plain'],
      ['POST', '/v1/points', 'application/x-www-form-urlencoded'],
      ['PUT', '/v1/strategies/default', 'text/plain'],
      ['PUT', '/v1/strategies/default', 'multipart/form-data; boundary=x'],
      ['POST', '/v1/strategies/default/rollback', 'text/plain'],
      ['POST', '/v1/shadows', 'application/x-www-form-urlencoded'],
      ['POST', '/v1/shadows/1/discard', 'text/plain'],
      ['PUT', '/v1/events/ev-1/label', 'text/plain'],
      ['PUT', '/v1/events/ev-1/label', undefined],
      ['POST', '/v1/models/m/predict', 'text/plain'],
    ];
    for (const [method, url, type] of refused) {
      const res = await send(method, url, type, '{"label":"anomaly"}');
      assert.equal(res.statusCode, 415, `${method} ${url} ${type}: ${res.body}`);
      const answer = res.json<{ code: string; message: string }>();
      assert.equal(answer.code, 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
      assert.match(answer.message, /reads application\//);
    }
    assert.equal(
      (await send('POST', '/v1/points', 'application/json; charset=utf-8', '[]')).statusCode,
      200,
    );
    const ndjson = `{"timestamp":${T0},"device_id":"d","metrics":{"x":1}}\n`;
    assert.equal(
      (await send('POST', '/v1/points', 'application/x-ndjson', ndjson)).statusCode,
      200,
    );
    // Line protocol is read whatever its type (Telegraf sends text/plain).
    const influx = await send(
      'POST',
      '/api/v2/write?precision=ms',
      'text/plain',
      `m,d=a v=1 ${T0}`,
    );
    assert.equal(influx.statusCode, 204, influx.body);
    // Remote-write keeps its own check and message.
    const rw = await send('POST', '/api/v1/write', 'application/json', '{}');
    assert.equal(rw.statusCode, 415);
    // A bodyless POST is not a content-type question: promote answers on its own terms.
    const discard = await app.inject({ method: 'POST', url: '/v1/shadows/99/discard' });
    assert.equal(discard.statusCode, 404, discard.body);
  });

  test('an empty body that names text/plain is 415 on every JSON route, over a socket', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const lineProtocol = new Set(['POST /api/v2/write', 'POST /write', 'POST /api/v1/write']);
    for (const route of mutating()) {
      if (lineProtocol.has(`${route.method} ${route.url}`)) continue; // they read any type
      const res = await fetch(`${base}${concrete(route.url).replace('/1/', '/99/')}`, {
        method: route.method,
        headers: { 'content-type': 'text/plain' },
        body: '',
      });
      const what = `${route.method} ${route.url}`;
      assert.equal(res.status, 415, what);
      const answer = (await res.json()) as { code: string; message: string };
      assert.equal(answer.code, 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE', what);
      assert.match(
        answer.message,
        /reads application\/.*the request's Content-Type is text\/plain/,
      );
    }
    // Influx still takes line protocol as text/plain.
    const influx = await fetch(`${base}/api/v2/write?precision=ms`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `m,d=b v=1 ${T0}`,
    });
    assert.equal(influx.status, 204);
  });
});

test('a request while the server shuts down: 503 VIGIL_ERR_NOT_READY with Retry-After', async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let closingStarted: () => void = () => undefined;
  const closing = new Promise<void>((resolve) => {
    closingStarted = resolve;
  });
  const s = await startTestService({
    routes: ({ app }) => {
      // Runs after the server's own preClose: the server is closing but still listening.
      app.addHook('preClose', async () => {
        closingStarted();
        await held;
      });
    },
  });
  const stopped = s.stop();
  try {
    await closing;
    for (const [method, url] of [
      ['GET', '/v1/devices'],
      ['GET', '/readyz'],
      ['POST', '/v1/points'],
    ] as const) {
      const res = await fetch(`${s.url}${url}`, {
        method,
        ...(method === 'POST'
          ? { headers: { 'content-type': 'application/json' }, body: '[]' }
          : {}),
      });
      assert.equal(res.status, 503, `${method} ${url}`);
      assert.equal(res.headers.get('retry-after'), '5');
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, 'VIGIL_ERR_NOT_READY');
      assert.match(body.message, /shutting down/);
    }
  } finally {
    release();
    await stopped;
  }
});

test('/readyz before the engine is ready: 503 with Retry-After', async () => {
  const store = await openStore();
  const registry = new Registry();
  const app = await buildHttpServer({
    engine: { subscribe: () => () => undefined },
    store,
    registry,
    logger: { level: 'silent' },
    isReady: () => false,
  });
  try {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.deepEqual(res.json(), { code: 'VIGIL_ERR_NOT_READY', message: 'engine not started' });
  } finally {
    await app.close();
    await store.close();
  }
});
