/**
 * Rate limits with a fixed clock: the buckets alone, then on the real HTTP server (requests by
 * inject, points over a real socket into the real engine for each HTTP ingest protocol).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { compressSync } from 'snappy';
import { registerInfluxRoutes } from '../ingest/influx/routes.js';
import { encodeWriteRequest } from '../ingest/remote-write/decode.js';
import { registerRemoteWriteRoutes } from '../ingest/remote-write/routes.js';
import { sampleValue } from '../metrics/testing.js';
import {
  postPoints,
  samplePoints,
  startTestService,
  type TestService,
} from '../server/testing/running-service.js';
import { RateLimitedError, RateLimiter, TokenBucket } from './rate-limit.js';
import type { Principal, Scope } from './scope.js';

/** A clock the test moves by hand (ms). */
function manualClock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const principal = (name: string, rates?: Principal['rates']): Principal => ({
  name,
  scopes: new Set<Scope>(['admin']),
  ...(rates === undefined ? {} : { rates }),
});

const retryAfter = (f: () => void): number => {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof RateLimitedError, String(err));
    assert.equal(err.code, 'VIGIL_ERR_RATE_LIMITED');
    return err.retryAfterS;
  }
  assert.fail('expected a RateLimitedError');
};

describe('token buckets', () => {
  test('a bucket holds its capacity, refills at its rate, and says how long to wait', () => {
    const bucket = new TokenBucket(10, 10, 0);
    assert.equal(bucket.take(10, 0), 0);
    assert.equal(bucket.take(1, 0), 0.1);
    assert.equal(bucket.take(5, 500), 0);
    assert.equal(bucket.take(1, 500), 0.1);
  });

  test('a take beyond the capacity passes from a full bucket and leaves it in debt', () => {
    const bucket = new TokenBucket(10, 10, 0);
    assert.equal(bucket.take(30, 0), 0);
    assert.equal(bucket.take(1, 1000), 1.1); // -20 + 10 refilled: 11 short
    assert.equal(bucket.take(10, 3000), 0);
  });

  test('defaults off: no rate configured, nothing is limited', () => {
    const limiter = new RateLimiter(new Registry());
    for (let i = 0; i < 10_000; i++) limiter.takeRequest(undefined);
    limiter.takePoints(principal('a'), 1e9);
    assert.equal(limiter.size, 0);
  });

  test('per principal: own rates override the defaults; anonymous is one key', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(new Registry(), {
      defaults: { requestsPerS: 2, pointsPerS: 100 },
      now: clock.now,
    });
    const fast = principal('fast', { requestsPerS: 5 });
    for (let i = 0; i < 5; i++) limiter.takeRequest(fast);
    assert.equal(
      retryAfter(() => limiter.takeRequest(fast)),
      1,
    );
    limiter.takeRequest(undefined);
    limiter.takeRequest(undefined);
    assert.equal(
      retryAfter(() => limiter.takeRequest(undefined)),
      1,
    );
    limiter.takePoints(principal('slow'), 100);
    // 300 more need 300 tokens, but a bucket holds 100: waiting for a full bucket is 1 s.
    assert.equal(
      retryAfter(() => limiter.takePoints(principal('slow'), 300)),
      1,
    );
    clock.advance(1000);
    limiter.takePoints(principal('slow'), 300); // full again: passes, into debt
    assert.equal(
      retryAfter(() => limiter.takePoints(principal('slow'), 1)),
      3,
    );
  });

  test('burst_s sizes the buckets; the key map is bounded', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(new Registry(), {
      defaults: { requestsPerS: 1 },
      burstS: 3,
      now: clock.now,
      maxKeys: 3,
    });
    for (let i = 0; i < 3; i++) limiter.takeRequest(principal('b'));
    assert.throws(() => limiter.takeRequest(principal('b')), RateLimitedError);
    for (let i = 0; i < 20; i++) limiter.takeRequest(principal(`p${i}`));
    assert.equal(limiter.size, 3);
  });
});

describe('rate limits on the HTTP server', () => {
  const clock = manualClock();
  let s: TestService;
  before(async () => {
    s = await startTestService({
      rateLimits: { defaults: { requestsPerS: 3, pointsPerS: 10 }, now: clock.now },
      routes: ({ app, engine, registry }) => {
        // Stands in for the auth hook: the caller named by a header, added after the limits.
        app.addHook('onRequest', async (request) => {
          const name = request.headers['x-test-principal'];
          if (typeof name === 'string') request.principal = principal(name);
        });
        registerInfluxRoutes(app, { engine, registry });
        return registerRemoteWriteRoutes(app, { engine, registry });
      },
    });
  });
  after(async () => {
    await s.stop();
  });

  const get = (url: string, who: string) =>
    s.app.inject({ method: 'GET', url, headers: { 'x-test-principal': who } });

  test('N requests pass, the next is 429 with Retry-After; health checks never limited; refill', async () => {
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) assert.equal((await get('/v1/devices', 'reader')).statusCode, 200);
    const over = await get('/v1/devices', 'reader');
    assert.equal(over.statusCode, 429);
    assert.equal(over.headers['retry-after'], '1');
    assert.equal(over.json().code, 'VIGIL_ERR_RATE_LIMITED');
    assert.match(over.json().message, /reader: over the rate limit of 3 requests\/s/);
    for (const url of ['/healthz', '/readyz'])
      assert.equal((await get(url, 'reader')).statusCode, 200);
    // Another token has its own bucket.
    assert.equal((await get('/v1/devices', 'other')).statusCode, 200);
    clock.advance(1000);
    assert.equal((await get('/v1/devices', 'reader')).statusCode, 200);
    assert.equal(
      await sampleValue(
        s.registry,
        'vigil_rate_limited_total',
        'principal="reader",kind="requests"',
      ),
      1,
    );
  });

  test('points over the limit are refused whole over a real socket, nothing stored; refill', async () => {
    clock.advance(10_000);
    // Without auth every caller is `anonymous`, together.
    const first = await postPoints(s.url, JSON.stringify(samplePoints('rl-a', 8)));
    assert.equal(first.status, 200);
    const over = await postPoints(s.url, JSON.stringify(samplePoints('rl-b', 5)));
    assert.equal(over.status, 429);
    assert.equal((over.json as { code: string }).code, 'VIGIL_ERR_RATE_LIMITED');
    assert.equal(over.headers.get('retry-after'), '1');
    await s.engine.flush();
    assert.deepEqual(
      (await s.store.querier.devices()).filter((d) => d.startsWith('rl-')),
      ['rl-a'],
    );
    clock.advance(500);
    assert.equal((await postPoints(s.url, JSON.stringify(samplePoints('rl-b', 5)))).status, 200);
    assert.equal(
      await sampleValue(
        s.registry,
        'vigil_rate_limited_total',
        'principal="anonymous",kind="points"',
      ),
      1,
    );
  });

  test('Influx lines: 429 with Retry-After, nothing stored', async () => {
    clock.advance(10_000);
    const lines = (device: string, n: number) =>
      Array.from({ length: n }, (_, i) => `m,host=${device} v=${i} ${1767268800000 + i}`).join(
        '\n',
      );
    const write = (body: string) =>
      fetch(`${s.url}/api/v2/write?precision=ms`, { method: 'POST', body });
    assert.equal((await write(lines('rl-influx-a', 10))).status, 204);
    const over = await write(lines('rl-influx-b', 1));
    assert.equal(over.status, 429);
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.match(await over.text(), /VIGIL_ERR_RATE_LIMITED/);
    await s.engine.flush();
    assert.ok(!(await s.store.querier.devices()).includes('rl-influx-b'));
  });

  test('remote-write: 503 with Retry-After (Prometheus retries it), nothing stored', async () => {
    clock.advance(10_000);
    const request = (instance: string, n: number) => ({
      timeseries: [
        {
          labels: [
            { name: '__name__', value: 'up' },
            { name: 'instance', value: instance },
          ],
          samples: Array.from({ length: n }, (_, i) => ({
            value: 1,
            timestamp: 1767268800000 + i,
          })),
        },
      ],
    });
    const write = (instance: string, n: number) =>
      fetch(`${s.url}/api/v1/write`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
        body: compressSync(Buffer.from(encodeWriteRequest(request(instance, n)))),
      });
    assert.equal((await write('rl-rw-a', 10)).status, 204);
    const over = await write('rl-rw-b', 3);
    assert.equal(over.status, 503);
    assert.equal(over.headers.get('retry-after'), '1');
    assert.match(await over.text(), /VIGIL_ERR_RATE_LIMITED/);
    await s.engine.flush();
    assert.ok(!(await s.store.querier.devices()).includes('rl-rw-b'));
  });
});
