import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { registerDashboard } from './dashboard/routes.js';
import { inferUnit } from './metric-units.js';
import { startTestService, type TestService } from './testing/running-service.js';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

/** Two hours of one point a minute: temp around 20, a spike to 90 at minute 100. */
function points() {
  return Array.from({ length: 120 }, (_, i) => ({
    timestamp: T0 + i * MINUTE,
    device_id: 'pump-1',
    metrics: { temp: i === 100 ? 90 : 20 + (i % 3), cpu_seconds_total: i },
  }));
}

async function start(store: Store): Promise<TestService> {
  return startTestService({
    store,
    routes: ({ app, engine }) =>
      registerDashboard(app, { engine, store, acceptedPoints: () => 0, clock: () => T0 }),
  });
}

async function call(url: string, method: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed answers
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe('metric units and the expected band, over a restart', { timeout: 120_000 }, () => {
  let dir: string;
  let store: Store;
  let service: TestService;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-units-'));
    store = await openStore({ dataDir: path.join(dir, 'db') });
    service = await start(store);
    await service.engine.ingest(points(), 'test');
    await service.engine.flush();
  });

  after(async () => {
    await service.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('PUT, GET and DELETE /v1/units round-trip; /v1/series carries the unit', async () => {
    const put = await call(`${service.url}/v1/units/temp`, 'PUT', {
      unit: ' °C ',
      description: 'bearing temperature',
    });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.equal(put.json.unit, '°C');
    assert.equal(put.json.description, 'bearing temperature');
    const list = await call(`${service.url}/v1/units`, 'GET');
    assert.deepEqual(
      list.json.units.map((u: { metric: string; unit: string }) => [u.metric, u.unit]),
      [['temp', '°C']],
    );
    // A metric name with a slash, URL-encoded.
    const slash = await call(`${service.url}/v1/units/${encodeURIComponent('a/b')}`, 'PUT', {
      unit: 'kPa',
    });
    assert.equal(slash.status, 200);
    assert.equal(slash.json.metric, 'a/b');
    const series = await call(`${service.url}/v1/series?device=pump-1`, 'GET');
    const byMetric = Object.fromEntries(
      series.json.series.map((s: { metric: string }) => [s.metric, s]),
    );
    assert.equal(byMetric.temp.unit, '°C');
    assert.equal(byMetric.temp.unit_source, 'declared');
    assert.equal(byMetric.cpu_seconds_total.unit, 's');
    assert.equal(byMetric.cpu_seconds_total.unit_source, 'inferred');
    const overview = await call(`${service.url}/v1/overview`, 'GET');
    assert.deepEqual(
      overview.json.devices[0].series.map((s: { metric: string; unit?: string }) => [
        s.metric,
        s.unit,
      ]),
      [
        ['cpu_seconds_total', 's'],
        ['temp', '°C'],
      ],
    );
    const paged = await call(`${service.url}/v1/series?device=pump-1&limit=10`, 'GET');
    assert.equal(paged.json.series[1].unit, '°C');
    const gone = await call(`${service.url}/v1/units/${encodeURIComponent('a/b')}`, 'DELETE');
    assert.equal(gone.status, 200);
    assert.equal(gone.json.removed, true);
    const again = await call(`${service.url}/v1/units/${encodeURIComponent('a/b')}`, 'DELETE');
    assert.equal(again.status, 404);
    assert.match(again.json.message, /no unit is declared for metric "a\/b"/);
  });

  test('a bad unit gets a 400 naming what is wrong, and changes nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [{ unit: 'x'.repeat(33) }, /unit is 33 characters long, the limit is 32/],
      [{ unit: 'deg\u0007C' }, /unit contains a control character at position 4/],
      [{ unit: 'a\nb' }, /unit contains a control character at position 2/],
      [{ unit: '   ' }, /unit must not be empty/],
      [{ unit: 5 }, /unit must be a string, found number/],
      [{}, /unit is required/],
      [{ unit: 'K', colour: 'red' }, /unknown field "colour"/],
      [{ unit: 'K', description: 'd'.repeat(501) }, /description is 501 characters long/],
      [[1], /body must be an object/],
    ];
    for (const [body, message] of cases) {
      const res = await call(`${service.url}/v1/units/temp`, 'PUT', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.json.message, message);
    }
    const list = await call(`${service.url}/v1/units`, 'GET');
    assert.equal(list.json.units[0].unit, '°C');
  });

  test('after a restart: the unit is still declared and the band is served for history', async () => {
    const range = `device=pump-1&metric=temp&from=${T0 + 60 * MINUTE}&to=${T0 + 120 * MINUTE}&bucket=1m`;
    const before = await call(`${service.url}/v1/band?${range}`, 'GET');
    assert.equal(before.status, 200, JSON.stringify(before.json));
    await service.stop();
    await store.close();
    store = await openStore({ dataDir: path.join(dir, 'db') });
    service = await start(store);
    const units = await call(`${service.url}/v1/units`, 'GET');
    assert.equal(units.json.units[0]?.unit, '°C');
    const band = await call(`${service.url}/v1/band?${range}`, 'GET');
    assert.equal(band.status, 200);
    assert.deepEqual(band.json, before.json);
    const { times, lower, upper, expected } = band.json as {
      times: number[];
      lower: number[];
      upper: number[];
      expected: number[];
    };
    assert.equal(times.length, 60);
    // The window reaches back before `from`: the first bucket already has a band.
    assert.ok(lower[0]! < 20 && upper[0]! > 22, `${lower[0]}..${upper[0]}`);
    assert.ok(Math.abs(expected[0]! - 21) <= 1);
    // The spike is outside the band computed from the buckets before it.
    const spike = times.indexOf(T0 + 100 * MINUTE);
    assert.ok(upper[spike]! < 90);
    // …and does not blow the band up for the buckets after it (median, not mean).
    assert.ok(upper[spike + 1]! < 30, String(upper[spike + 1]));
  });

  test('band: bad ranges are refused', async () => {
    const res = await call(
      `${service.url}/v1/band?device=pump-1&metric=temp&from=${T0}&to=${T0 + 86_400_000}&bucket=1s`,
      'GET',
    );
    assert.equal(res.status, 400);
    assert.match(res.json.message, /86400 buckets in the range, the limit is 10000/);
    const order = await call(
      `${service.url}/v1/band?device=pump-1&metric=temp&from=${T0 + 1}&to=${T0}`,
      'GET',
    );
    assert.equal(order.status, 400);
  });

  test('inferUnit follows the Prometheus naming convention', () => {
    assert.equal(inferUnit('http_request_duration_seconds'), 's');
    assert.equal(inferUnit('node_memory_bytes'), 'B');
    assert.equal(inferUnit('sent_bytes_total'), 'B');
    assert.equal(inferUnit('requests_total'), 'count');
    assert.equal(inferUnit('room_celsius'), '°C');
    assert.equal(inferUnit('disk_used_percent'), '%');
    assert.equal(inferUnit('cache_hit_ratio'), 'ratio');
    assert.equal(inferUnit('temp'), null);
  });
});
