import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compressSync } from 'snappy';
import { VigilError } from '../../errors.js';
import {
  decodeWriteRequest,
  decompress,
  encodeWriteRequest,
  type Label,
  type WriteRequest,
} from './decode.js';
import {
  defaultLabelMapping,
  isStaleMarker,
  staleMarker,
  mapWriteRequest,
  seriesNotation,
  type LabelMapping,
} from './mapping.js';

const T0 = Date.UTC(2026, 0, 1);
const limits = { maxDecompressedBytes: 1 << 20, maxSamples: 1000 };

function labels(record: Record<string, string>): Label[] {
  return Object.entries(record).map(([name, value]) => ({ name, value }));
}

function map(request: WriteRequest, mapping: Partial<LabelMapping> = {}) {
  return mapWriteRequest(request, { ...defaultLabelMapping, ...mapping });
}

describe('remote-write decoding', () => {
  test('an encoded, snappy-compressed request decodes to the same series, 64-bit times intact', async () => {
    const request: WriteRequest = {
      timeseries: [
        {
          labels: labels({ __name__: 'up', instance: 'a:9100', job: 'node' }),
          samples: [
            { value: 1, timestamp: T0 },
            { value: 0.5, timestamp: T0 + 1000 },
          ],
        },
      ],
    };
    const body = compressSync(Buffer.from(encodeWriteRequest(request)));
    const decoded = decodeWriteRequest(await decompress(body, limits), limits);
    assert.deepEqual(decoded, request);
  });

  test('exemplars and histograms are skipped without being decoded; metadata is read', () => {
    const request: WriteRequest = {
      timeseries: [
        {
          labels: labels({ __name__: 'up', instance: 'a' }),
          samples: [{ value: 1, timestamp: T0 }],
        },
      ],
    };
    const plain = encodeWriteRequest(request);
    assert.ok(plain[1]! < 128, 'one-byte length');
    // The series plus an empty exemplar (field 3) and histogram (field 4), then a metadata
    // entry (WriteRequest field 3) after it.
    const series = Buffer.concat([plain.subarray(2), Buffer.from([0x1a, 0x00, 0x22, 0x00])]);
    const withExtras = Buffer.concat([
      Buffer.from([0x0a, series.length]),
      series,
      Buffer.from([0x1a, 0x02, 0x08, 0x01]),
    ]);
    assert.deepEqual(decodeWriteRequest(withExtras, limits), {
      ...request,
      metadata: [{ type: 'COUNTER', metricFamilyName: '', help: '', unit: '' }],
    });
  });

  test('sizes are checked before the work: declared length, then samples', async () => {
    const request: WriteRequest = {
      timeseries: [
        {
          labels: labels({ __name__: 'x' }),
          samples: Array.from({ length: 20 }, (_, i) => ({ value: i, timestamp: T0 + i })),
        },
      ],
    };
    const bytes = encodeWriteRequest(request);
    await assert.rejects(
      decompress(compressSync(Buffer.from(bytes)), { ...limits, maxDecompressedBytes: 10 }),
      (err: unknown) =>
        err instanceof VigilError &&
        err.code === 'VIGIL_ERR_PAYLOAD_TOO_LARGE' &&
        /declares \d+ decompressed bytes, the limit is 10/.test(err.message),
    );
    assert.throws(
      () => decodeWriteRequest(bytes, { ...limits, maxSamples: 19 }),
      (err: unknown) =>
        err instanceof VigilError &&
        err.code === 'VIGIL_ERR_PAYLOAD_TOO_LARGE' &&
        /20 samples in one request, the limit is 19/.test(err.message),
    );
  });
});

describe('remote-write mapping', () => {
  test('samples of one instance at one time become one point; other labels stay in the name', () => {
    const mapped = map({
      timeseries: [
        {
          labels: labels({ __name__: 'node_load1', instance: 'host-a:9100', job: 'node' }),
          samples: [
            { value: 0.5, timestamp: T0 },
            { value: 0.7, timestamp: T0 + 1000 },
          ],
        },
        {
          labels: labels({
            __name__: 'node_cpu_seconds_total',
            mode: 'idle',
            cpu: '0',
            instance: 'host-a:9100',
            job: 'node',
          }),
          samples: [{ value: 100, timestamp: T0 }],
        },
        {
          labels: labels({ __name__: 'node_load1', instance: 'host-b:9100', job: 'node' }),
          samples: [{ value: 2, timestamp: T0 }],
        },
      ],
    });
    assert.deepEqual(mapped.errors, []);
    assert.equal(mapped.samples, 4);
    assert.deepEqual(mapped.points, [
      {
        timestamp: T0,
        device_id: 'host-a:9100',
        metrics: { node_load1: 0.5, 'node_cpu_seconds_total{cpu="0",mode="idle"}': 100 },
        tags: { job: 'node' },
      },
      {
        timestamp: T0 + 1000,
        device_id: 'host-a:9100',
        metrics: { node_load1: 0.7 },
        tags: { job: 'node' },
      },
      {
        timestamp: T0,
        device_id: 'host-b:9100',
        metrics: { node_load1: 2 },
        tags: { job: 'node' },
      },
    ]);
    assert.deepEqual(mapped.samplesPerPoint, [2, 1, 1]);
  });

  test('the mapping is configurable: device, metric and tag labels, drops, default device', () => {
    const request: WriteRequest = {
      timeseries: [
        {
          labels: labels({ __name__: 'temp', plant: 'p1', sensor: 's7', replica: 'r1', zone: 'z' }),
          samples: [{ value: 21, timestamp: T0 }],
        },
        {
          labels: labels({ __name__: 'temp', replica: 'r2', zone: 'z' }),
          samples: [{ value: 22, timestamp: T0 }],
        },
      ],
    };
    const mapped = map(request, {
      deviceLabel: 'sensor',
      defaultDevice: 'unknown-sensor',
      tagLabels: ['plant'],
      dropLabels: ['replica'],
    });
    assert.deepEqual(mapped.points, [
      {
        timestamp: T0,
        device_id: 's7',
        metrics: { 'temp{zone="z"}': 21 },
        tags: { plant: 'p1' },
      },
      { timestamp: T0, device_id: 'unknown-sensor', metrics: { 'temp{zone="z"}': 22 } },
    ]);
    const plain = map(request, { deviceLabel: 'sensor', otherLabels: 'drop', tagLabels: [] });
    assert.deepEqual(
      plain.points.map((p) => p.metrics),
      [{ temp: 21 }, { temp: 22 }],
    );
  });

  test('stale markers and NaN/Inf are skipped and counted; two series on one name keep the first', () => {
    assert.ok(isStaleMarker(staleMarker()));
    assert.ok(!isStaleMarker(Number.NaN));
    const mapped = map(
      {
        timeseries: [
          {
            labels: labels({ __name__: 'up', instance: 'a', replica: '1' }),
            samples: [
              { value: 1, timestamp: T0 },
              { value: staleMarker(), timestamp: T0 + 1000 },
            ],
          },
          {
            labels: labels({ __name__: 'up', instance: 'a', replica: '2' }),
            samples: [{ value: 0, timestamp: T0 }],
          },
          {
            labels: labels({ __name__: 'q', instance: 'a' }),
            samples: [
              { value: Number.NaN, timestamp: T0 },
              { value: Number.POSITIVE_INFINITY, timestamp: T0 + 1000 },
            ],
          },
        ],
      },
      { dropLabels: ['replica'] },
    );
    assert.deepEqual(mapped.skipped, { stale: 1, non_finite: 2, duplicate: 1 });
    assert.deepEqual(mapped.points, [{ timestamp: T0, device_id: 'a', metrics: { up: 1 } }]);
  });

  test('a group larger than metrics_per_point is split into several points', () => {
    const mapped = map(
      {
        timeseries: Array.from({ length: 7 }, (_, i) => ({
          labels: labels({ __name__: `m${i}`, instance: 'a' }),
          samples: [{ value: i, timestamp: T0 }],
        })),
      },
      { metricsPerPoint: 3 },
    );
    assert.deepEqual(
      mapped.points.map((p) => Object.keys(p.metrics).length),
      [3, 3, 1],
    );
    assert.deepEqual(mapped.samplesPerPoint, [3, 3, 1]);
  });

  test('a series without a metric name or with a too long name is an error naming it', () => {
    const mapped = map({
      timeseries: [
        { labels: labels({ instance: 'a', job: 'x' }), samples: [{ value: 1, timestamp: T0 }] },
        {
          labels: labels({ __name__: 'long', instance: 'a', path: 'p'.repeat(300) }),
          samples: [{ value: 1, timestamp: T0 }],
        },
        {
          labels: labels({ __name__: 'ok', instance: 'a' }),
          samples: [{ value: 1, timestamp: T0 }],
        },
      ],
    });
    assert.equal(mapped.errors.length, 2);
    assert.match(mapped.errors[0]?.series ?? '', /instance="a"/);
    assert.match(mapped.errors[0]?.message ?? '', /no __name__ label/);
    assert.match(mapped.errors[1]?.message ?? '', /longer than 200 characters/);
    assert.deepEqual(
      mapped.points.map((p) => p.metrics),
      [{ ok: 1 }],
    );
  });

  test('series notation sorts labels and quotes values', () => {
    assert.equal(
      seriesNotation('m', labels({ b: 'say "hi"', a: 'x\\y' })),
      'm{a="x\\\\y",b="say \\"hi\\""}',
    );
    assert.equal(seriesNotation('m', []), 'm');
  });
});
