/**
 * The token in each form a client sends it: the parser alone, then over a real socket with the
 * clients' own request shapes (curl, an InfluxDB v2 client's `Token`, Telegraf v1's basic auth
 * and the v1 `u`/`p` query, Prometheus remote-write's `authorization` and `basic_auth` on a real
 * snappy WriteRequest, the dashboard's cookie).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { compressSync } from 'snappy';
import { registerInfluxRoutes } from '../ingest/influx/routes.js';
import { encodeWriteRequest } from '../ingest/remote-write/decode.js';
import { registerRemoteWriteRoutes } from '../ingest/remote-write/routes.js';
import { startTestService, type TestService } from '../server/testing/running-service.js';
import { cookieValue, presentedCredential } from './credentials.js';
import { hashSecret, TokenSet } from './token-set.js';

const run = promisify(execFile);
const T0 = Date.UTC(2026, 0, 1);
const INGEST = 'vgl_ingest-0123456789';
const READ = 'vgl_read-0123456789';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('presentedCredential', () => {
  const at = (headers: Record<string, string>, url = '/v1/devices', tokenInQuery = false) =>
    presentedCredential({ headers, url }, { tokenInQuery });

  test('each form, and the first one found wins', () => {
    assert.deepEqual(at({ authorization: 'Bearer abc' }), { secret: 'abc', source: 'bearer' });
    assert.deepEqual(at({ authorization: 'bearer  abc ' }), { secret: 'abc', source: 'bearer' });
    assert.deepEqual(at({ authorization: 'Token abc' }), { secret: 'abc', source: 'token' });
    assert.deepEqual(at({ authorization: basic('telegraf', 'abc') }), {
      secret: 'abc',
      source: 'basic',
    });
    // `curl -u TOKEN:`: the user name is the token when the password is empty.
    assert.deepEqual(at({ authorization: basic('abc', '') }), { secret: 'abc', source: 'basic' });
    assert.deepEqual(at({ authorization: basic('u', 'a:b') }), { secret: 'a:b', source: 'basic' });
    assert.deepEqual(at({ cookie: 'theme=dark; vigil_token=abc; x=1' }), {
      secret: 'abc',
      source: 'cookie',
    });
    assert.deepEqual(at({ authorization: 'Bearer one', cookie: 'vigil_token=two' }), {
      secret: 'one',
      source: 'bearer',
    });
    // An unknown scheme is no credential: the cookie, if any, is used.
    assert.deepEqual(at({ authorization: 'Digest x', cookie: 'vigil_token=two' }), {
      secret: 'two',
      source: 'cookie',
    });
    assert.equal(at({ authorization: 'Digest x' }), undefined);
    assert.equal(at({ authorization: 'Bearer' }), undefined);
    assert.equal(at({}), undefined);
  });

  test('?p= only where the route allows it', () => {
    assert.equal(at({}, '/write?u=x&p=abc'), undefined);
    assert.deepEqual(at({}, '/write?db=x&u=telegraf&p=abc', true), {
      secret: 'abc',
      source: 'query',
    });
    assert.equal(at({}, '/write?u=x&p=', true), undefined);
    // A header wins over the query.
    assert.deepEqual(at({ authorization: 'Token h' }, '/write?p=q', true), {
      secret: 'h',
      source: 'token',
    });
  });

  test('cookieValue reads one cookie, quoted or percent-encoded', () => {
    assert.equal(cookieValue('a=1; vigil_token="q"', 'vigil_token'), 'q');
    assert.equal(cookieValue('vigil_token=a%2Bb', 'vigil_token'), 'a%2Bb', 'as set: not decoded');
    assert.equal(cookieValue('my_vigil_token=x', 'vigil_token'), undefined);
    assert.equal(cookieValue('vigil_token=%E0', 'vigil_token'), '%E0');
    assert.equal(cookieValue(undefined, 'vigil_token'), undefined);
  });
});

describe('real clients present their token the way they send it', () => {
  let s: TestService;

  before(async () => {
    s = await startTestService({
      auth: new TokenSet([
        { name: 'telegraf', sha256: hashSecret(INGEST), scopes: ['ingest'] },
        { name: 'grafana', sha256: hashSecret(READ), scopes: ['read'] },
      ]),
      routes: async ({ app, engine, registry }) => {
        registerInfluxRoutes(app, { engine, registry, clock: () => T0 });
        await registerRemoteWriteRoutes(app, { engine, registry });
      },
    });
  });
  after(async () => {
    await s?.stop();
  });

  /** curl's status code for a request; `args` are curl's own options. */
  const curl = async (args: string[]): Promise<number> => {
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
    return Number(stdout);
  };
  const line = (device: string) => `cpu,host=${device} usage=1 ${T0}`;

  test('curl with Bearer: read routes, and its ingest token on POST /v1/points', async () => {
    assert.equal(await curl([`${s.url}/v1/devices`]), 401);
    assert.equal(await curl(['-H', `Authorization: Bearer ${READ}`, `${s.url}/v1/devices`]), 200);
    const points = JSON.stringify([{ timestamp: T0, device_id: 'curl', metrics: { v: 1 } }]);
    const post = (token: string) =>
      curl([
        '-H',
        `Authorization: Bearer ${token}`,
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        points,
        `${s.url}/v1/points`,
      ]);
    assert.equal(await post(READ), 403);
    assert.equal(await post(INGEST), 200);
  });

  test('InfluxDB v2 clients: Authorization: Token on /api/v2/write', async () => {
    const write = (headers: Record<string, string>, query = '') =>
      fetch(`${s.url}/api/v2/write?org=o&bucket=b&precision=ms${query}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
        body: line('v2'),
      });
    assert.equal((await write({ authorization: `Token ${INGEST}` })).status, 204);
    assert.equal((await write({ authorization: `Token ${READ}` })).status, 403);
    assert.equal((await write({})).status, 401);
    // The v1 query form is not read on the v2 API: tokens stay out of URLs there.
    assert.equal((await write({}, `&u=x&p=${INGEST}`)).status, 401);
  });

  test('InfluxDB v1 clients: basic auth (Telegraf) and ?u=&p= on /write', async () => {
    const url = `${s.url}/write?db=telegraf&precision=ms`;
    const send = (args: string[], to = url) =>
      curl(['--data-binary', line('v1'), '-H', 'Content-Type: text/plain', ...args, to]);
    assert.equal(await send(['-u', `telegraf:${INGEST}`]), 204);
    assert.equal(await send([], `${url}&u=telegraf&p=${INGEST}`), 204);
    assert.equal(await send([], `${url}&u=telegraf&p=wrong`), 401);
    assert.equal(await send(['-u', `telegraf:${READ}`]), 403);
    assert.equal(await send([]), 401);
  });

  test('Prometheus remote-write: authorization (Bearer) and basic_auth', async () => {
    const body = compressSync(
      Buffer.from(
        encodeWriteRequest({
          timeseries: [
            {
              labels: [
                { name: '__name__', value: 'up' },
                { name: 'instance', value: 'prom-auth' },
              ],
              samples: [{ value: 1, timestamp: T0 }],
            },
          ],
        }),
      ),
    );
    // The headers Prometheus sends (storage/remote/client.go), with its authorization forms.
    const write = (authorization?: string) =>
      fetch(`${s.url}/api/v1/write`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-prometheus-remote-write-version': '0.1.0',
          'user-agent': 'Prometheus/2.45.0',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body,
      });
    const refused = await write();
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="vigil"');
    assert.equal((await write(`Bearer ${INGEST}`)).status, 204);
    assert.equal((await write(basic('prometheus', INGEST))).status, 204);
    assert.equal((await write(`Bearer ${READ}`)).status, 403);
  });

  test("the dashboard's cookie: read routes with the token it holds", async () => {
    assert.equal(await curl(['--cookie', `vigil_token=${READ}`, `${s.url}/v1/devices`]), 200);
    assert.equal(await curl(['--cookie', `vigil_token=${INGEST}`, `${s.url}/v1/devices`]), 403);
    assert.equal(await curl(['--cookie', 'vigil_token=nope', `${s.url}/v1/devices`]), 401);
  });

  test('what the accepted requests sent arrived, and nothing of the refused ones', () => {
    // curl 1, InfluxDB v2 1, v1 2 (basic, query), remote-write 2 (Bearer, basic_auth).
    assert.equal(s.engine.stats().accepted, 6);
  });
});
