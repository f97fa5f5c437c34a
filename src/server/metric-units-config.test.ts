import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readConfigFile } from '../cli/serve-config.js';
import { VigilError } from '../errors.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { applyConfigUnits } from './metric-units-config.js';
import { startTestService, type TestService } from './testing/running-service.js';

const T0 = Date.UTC(2026, 0, 1);

async function call(url: string, method = 'GET', body?: unknown) {
  const res = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed answers
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe('units: in the config file', { timeout: 120_000 }, () => {
  let dir: string;
  let store: Store;
  let service: TestService;
  const warnings: string[] = [];

  /** Read `yaml` as `vigil serve --config` does and apply its units as a start does. */
  async function startWith(yaml: string): Promise<void> {
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(file, yaml);
    const config = await readConfigFile(file);
    await applyConfigUnits(store.metricUnits, config.units ?? {}, (m) => warnings.push(m));
  }

  const units = async () =>
    (await call(`${service.url}/v1/units`)).json.units.map(
      (u: { metric: string; unit: string; source: string; description: string | null }) => [
        u.metric,
        u.unit,
        u.source,
        u.description,
      ],
    );

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-config-units-'));
    store = await openStore({ dataDir: path.join(dir, 'db') });
    service = await startTestService({ store });
    await service.engine.ingest(
      [{ timestamp: T0, device_id: 'p-1', metrics: { temp: 20, pressure: 1.2, flow: 3 } }],
      'test',
    );
    await service.engine.flush();
  });

  after(async () => {
    await service.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('applied at start: listed by GET /v1/units and shown by GET /v1/series', async () => {
    await startWith(
      'units:\n  temp: "°C"\n  pressure:\n    unit: bar\n    description: inlet pressure\n',
    );
    assert.deepEqual(await units(), [
      ['pressure', 'bar', 'config', 'inlet pressure'],
      ['temp', '°C', 'config', null],
    ]);
    const series = (await call(`${service.url}/v1/series?device=p-1`)).json.series;
    const byMetric = Object.fromEntries(
      series.map((s: { metric: string; unit: string | null; unit_source?: string }) => [
        s.metric,
        [s.unit, s.unit_source],
      ]),
    );
    assert.deepEqual(byMetric, {
      flow: [null, undefined],
      pressure: ['bar', 'declared'],
      temp: ['°C', 'declared'],
    });
  });

  test('the config file wins over the API at the next start, with a warning', async () => {
    const put = await call(`${service.url}/v1/units/temp`, 'PUT', { unit: '°F' });
    assert.equal(put.status, 200);
    assert.equal(put.json.source, 'api');
    await call(`${service.url}/v1/units/flow`, 'PUT', { unit: 'l/min' });
    warnings.length = 0;
    // pressure left the file: its config row goes; the API's flow stays.
    await startWith('units:\n  temp: "°C"\n');
    assert.deepEqual(await units(), [
      ['flow', 'l/min', 'api', null],
      ['temp', '°C', 'config', null],
    ]);
    assert.deepEqual(warnings, [
      'units.temp: the config file\'s "°C" replaces "°F" set by PUT /v1/units',
    ]);
    // A start with the same file changes nothing and warns of nothing.
    const before = await units();
    warnings.length = 0;
    await startWith('units:\n  temp: "°C"\n');
    assert.deepEqual(await units(), before);
    assert.deepEqual(warnings, []);
    // No units section: the config's units are forgotten, the API's kept.
    await startWith('port: 8080\n');
    assert.deepEqual(await units(), [['flow', 'l/min', 'api', null]]);
  });

  test('a bad unit is a VIGIL_ERR_CONFIG naming its key; nothing is applied', async () => {
    const cases: [string, RegExp][] = [
      [
        `units:\n  temp: "${'x'.repeat(33)}"\n`,
        /units\.temp: unit is 33 characters long, the limit is 32/,
      ],
      [
        'units:\n  temp: "deg\\u0007C"\n',
        /units\.temp: unit contains a control character at position 4/,
      ],
      ['units:\n  temp: "  "\n', /units\.temp: unit must not be empty/],
      ['units:\n  temp: 5\n', /units\.temp: expected a unit \("°C"\) or \{unit, description\}/],
      ['units:\n  temp:\n    unit: K\n    colour: red\n', /units\.temp: unknown key "colour"/],
      ['units:\n  temp:\n    description: d\n', /units\.temp: unit is required/],
      [
        `units:\n  temp:\n    unit: K\n    description: "${'d'.repeat(501)}"\n`,
        /units\.temp: description is 501 characters long, the limit is 500/,
      ],
      [
        `units:\n  "${'m'.repeat(201)}": K\n`,
        /units\.m+: a metric name is 1 to 200 characters without NUL, this one has 201/,
      ],
      ['units: [K]\n', /units: /],
    ];
    const before = await units();
    for (const [yaml, message] of cases) {
      await assert.rejects(startWith(yaml), (err: unknown) => {
        assert.ok(err instanceof VigilError, String(err));
        assert.equal(err.code, 'VIGIL_ERR_CONFIG');
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(await units(), before);
  });
});
