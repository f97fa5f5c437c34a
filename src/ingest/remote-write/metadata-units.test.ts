import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compressSync } from 'snappy';
import {
  decodeWriteRequest,
  defaultDecodeLimits,
  encodeWriteRequest,
  type WriteRequest,
} from './decode.js';
import { metadataUnits } from './metadata-units.js';
import { startVigil, type RunningVigil } from './running-vigil.js';

const T0 = Date.UTC(2026, 0, 1);

const series = (name: string, value: number) => ({
  labels: [
    { name: '__name__', value: name },
    { name: 'instance', value: 'pump-7' },
  ],
  samples: [{ value, timestamp: T0 }],
});

/** Encoded by protobufjs from proto/prometheus/remote.proto, as Prometheus' own encoder does. */
function body(request: WriteRequest): Buffer {
  return compressSync(Buffer.from(encodeWriteRequest(request)));
}

async function write(url: string, request: WriteRequest): Promise<number> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
    body: body(request),
  });
  await res.arrayBuffer();
  return res.status;
}

async function json(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed answers
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe('remote-write metadata: decoded with bounds', () => {
  const limits = { ...defaultDecodeLimits, maxLabelBytes: 64, maxSeries: 2 };

  test('type, family, help and unit are read; a help text over max_label_bytes is left out', () => {
    const decoded = decodeWriteRequest(
      encodeWriteRequest({
        timeseries: [],
        metadata: [
          { type: 'GAUGE', metricFamilyName: 'bearing_temp', help: 'Bearing.', unit: 'celsius' },
          { type: 'COUNTER', metricFamilyName: 'spins', help: 'h'.repeat(65), unit: '' },
        ],
      }),
      limits,
    );
    assert.deepEqual(decoded.metadata, [
      { type: 'GAUGE', metricFamilyName: 'bearing_temp', help: 'Bearing.', unit: 'celsius' },
      { type: 'COUNTER', metricFamilyName: 'spins', help: '', unit: '' },
    ]);
    assert.equal(
      decodeWriteRequest(encodeWriteRequest({ timeseries: [] }), limits).metadata,
      undefined,
    );
  });

  test('an over-long unit and too many entries are refused naming the limit', () => {
    const one = { type: 'GAUGE', metricFamilyName: 'a', help: '', unit: 'u' } as const;
    assert.throws(
      () =>
        decodeWriteRequest(
          encodeWriteRequest({ timeseries: [], metadata: [{ ...one, unit: 'u'.repeat(65) }] }),
          limits,
        ),
      /65 bytes, the limit is 64 \(remote_write\.max_label_bytes\)/,
    );
    assert.throws(
      () =>
        decodeWriteRequest(
          encodeWriteRequest({ timeseries: [], metadata: [one, one, one] }),
          limits,
        ),
      /more metadata entries in one request, the limit is 2 \(remote_write\.max_series_per_request\)/,
    );
    // A length past the end of the message is a clean 400, not a crash.
    const bytes = encodeWriteRequest({ timeseries: [], metadata: [one] });
    assert.throws(
      () => decodeWriteRequest(bytes.subarray(0, bytes.length - 1), limits),
      /not a protobuf/,
    );
  });

  test('metadataUnits: symbols for base-unit words, counters and sums, bad units left out', () => {
    assert.deepEqual(
      metadataUnits([
        { type: 'COUNTER', metricFamilyName: 'work', help: 'Work\ndone.', unit: 'joules' },
        { type: 'HISTOGRAM', metricFamilyName: 'lat', help: '', unit: 'seconds' },
        { type: 'GAUGE', metricFamilyName: 'flow', help: '', unit: 'l/min' },
        { type: 'GAUGE', metricFamilyName: 'bad', help: '', unit: 'a\u0007' },
        { type: 'GAUGE', metricFamilyName: 'none', help: 'no unit', unit: '' },
      ]),
      [
        { metric: 'work', unit: 'J', description: 'Work done.' },
        { metric: 'work_total', unit: 'J', description: 'Work done.' },
        { metric: 'lat', unit: 's', description: null },
        { metric: 'lat_sum', unit: 's', description: null },
        { metric: 'flow', unit: 'l/min', description: null },
      ],
    );
  });
});

describe('remote-write metadata: units stored, declared ones kept', { timeout: 120_000 }, () => {
  let vigil: RunningVigil;

  before(async () => {
    vigil = await startVigil({ units: true });
  });

  after(async () => {
    await vigil.stop();
  });

  test('a metadata unit is shown as inferred on /v1/units and /v1/series', async () => {
    const put = await json(`${vigil.url}/v1/units/flow`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ unit: 'm³/h' }),
    });
    assert.equal(put.status, 200);
    // Prometheus sends metadata in requests of their own, samples in others.
    const metadata: WriteRequest = {
      timeseries: [],
      metadata: [
        { type: 'GAUGE', metricFamilyName: 'bearing_temp', help: 'Bearing.', unit: 'celsius' },
        { type: 'GAUGE', metricFamilyName: 'flow', help: '', unit: 'l/min' },
      ],
    };
    assert.equal(await write(vigil.url, metadata), 204);
    assert.equal(
      await write(vigil.url, { timeseries: [series('bearing_temp', 61), series('flow', 3)] }),
      204,
    );
    await vigil.engine.flush();
    const units = (await json(`${vigil.url}/v1/units`)).json.units.map(
      (u: { metric: string; unit: string; source: string; description: string | null }) => [
        u.metric,
        u.unit,
        u.source,
        u.description,
      ],
    );
    assert.deepEqual(units, [
      ['bearing_temp', '°C', 'metadata', 'Bearing.'],
      ['flow', 'm³/h', 'api', null],
    ]);
    const listed = (await json(`${vigil.url}/v1/series?device=pump-7`)).json.series;
    assert.deepEqual(
      listed.map((s: { metric: string; unit: string; unit_source: string }) => [
        s.metric,
        s.unit,
        s.unit_source,
      ]),
      [
        ['bearing_temp', '°C', 'inferred'],
        ['flow', 'm³/h', 'declared'],
      ],
    );
    // A unit declared later replaces the metadata one, and later metadata does not undo it.
    await json(`${vigil.url}/v1/units/bearing_temp`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ unit: 'K' }),
    });
    assert.equal(await write(vigil.url, metadata), 204);
    const after = (await json(`${vigil.url}/v1/units`)).json.units;
    assert.deepEqual(
      after.map((u: { unit: string; source: string }) => [u.unit, u.source]),
      [
        ['K', 'api'],
        ['m³/h', 'api'],
      ],
    );
  });
});
