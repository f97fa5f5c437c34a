import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { compress, compressSync } from 'snappy';
import { Rng } from '../../core/stats/rng.js';
import { encodeWriteRequest, type Label, type WriteRequest } from './decode.js';
import { staleMarker } from './mapping.js';
import { startVigil, type RunningVigil } from './running-vigil.js';

const T0 = Date.UTC(2026, 0, 1);

function labels(record: Record<string, string>): Label[] {
  return Object.entries(record).map(([name, value]) => ({ name, value }));
}

function body(request: WriteRequest): Buffer {
  return compressSync(Buffer.from(encodeWriteRequest(request)));
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: { code?: string; message?: string } | undefined;
}

async function write(
  url: string,
  payload: Uint8Array,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      ...headers,
    },
    body: payload,
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text === '' ? undefined : (JSON.parse(text) as Answer['json']),
  };
}

async function metricValue(s: RunningVigil, name: string, labelText: string): Promise<number> {
  const text = await s.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labelText}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** `series` series of `n` samples each, one second apart, for device `device`. */
function ramp(device: string, series: number, n: number): WriteRequest {
  return {
    timeseries: Array.from({ length: series }, (_, k) => ({
      labels: labels({ __name__: 'load', core: String(k), instance: device, job: 'node' }),
      samples: Array.from({ length: n }, (_, i) => ({
        value: Math.sin(i / 5) + k,
        timestamp: T0 + i * 1000,
      })),
    })),
  };
}

describe('POST /api/v1/write', () => {
  let s: RunningVigil;
  before(async () => {
    // queueLimit: a batch of more than 2000 points meets backpressure.
    s = await startVigil({
      queueLimit: 2000,
      limits: {
        maxCompressedBytes: 64 * 1024,
        maxDecompressedBytes: 256 * 1024,
        maxSamples: 5000,
        maxSeries: 100,
        maxLabelsPerSeries: 16,
        maxLabelsPerRequest: 300,
        maxLabelBytes: 256,
      },
    });
  });
  after(async () => {
    await s.stop();
  });

  test('several series become points per instance and time, stored, scored and counted', async () => {
    const r = await write(s.url, body(ramp('host-a:9100', 3, 40)));
    assert.equal(r.status, 204);
    await s.engine.flush();
    const series = await s.store.querier.series('host-a:9100');
    assert.deepEqual(
      series.map((x) => [x.metric, x.first, x.last]),
      [0, 1, 2].map((k) => [`load{core="${k}"}`, T0, T0 + 39_000]),
    );
    assert.ok(s.engine.stats().scored >= 120);
    assert.equal(
      await metricValue(
        s,
        'vigil_ingest_points_total',
        'protocol="remote_write",result="accepted"',
      ),
      40,
    );
    assert.equal(
      await metricValue(s, 'vigil_remote_write_samples_total', 'result="accepted"'),
      120,
    );
  });

  test('stale markers and NaN are skipped with a 204, and counted', async () => {
    const r = await write(
      s.url,
      body({
        timeseries: [
          {
            labels: labels({ __name__: 'up', instance: 'host-s' }),
            samples: [
              { value: 1, timestamp: T0 },
              { value: staleMarker(), timestamp: T0 + 1000 },
              { value: Number.NaN, timestamp: T0 + 2000 },
            ],
          },
        ],
      }),
    );
    assert.equal(r.status, 204);
    assert.equal(await metricValue(s, 'vigil_remote_write_samples_total', 'result="stale"'), 1);
    assert.equal(
      await metricValue(s, 'vigil_remote_write_samples_total', 'result="non_finite"'),
      1,
    );
  });

  test('series that cannot be mapped are 400 naming them; the rest is durable', async () => {
    const r = await write(
      s.url,
      body({
        timeseries: [
          {
            labels: labels({ instance: 'host-e', job: 'x' }),
            samples: [{ value: 1, timestamp: T0 }],
          },
          {
            labels: labels({ __name__: 'fine', instance: 'host-e' }),
            samples: [{ value: 2, timestamp: T0 }],
          },
          {
            labels: labels({ __name__: 'early', instance: 'host-e' }),
            samples: [{ value: 3, timestamp: -5 }],
          },
        ],
      }),
    );
    assert.equal(r.status, 400);
    assert.equal(r.json?.code, 'VIGIL_ERR_INPUT');
    assert.match(r.json?.message ?? '', /^2 of 3 samples rejected \(1 accepted and durable\)/);
    assert.match(r.json?.message ?? '', /series \{instance="host-e",job="x"\}: no __name__ label/);
    assert.match(r.json?.message ?? '', /device "host-e" at -5: timestamp: -5 is outside/);
    await s.engine.flush();
    const stored = await s.store.querier.series('host-e');
    assert.deepEqual(
      stored.map((x) => x.metric),
      ['fine'],
    );
  });

  test('wrong content type or encoding is 415, with what was expected', async () => {
    const payload = body(ramp('h', 1, 1));
    const json = await write(s.url, payload, { 'content-type': 'application/json' });
    assert.equal(json.status, 415);
    assert.equal(json.json?.code, 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
    assert.match(json.json?.message ?? '', /expected application\/x-protobuf/);
    const v2 = await write(s.url, payload, {
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
    });
    assert.equal(v2.status, 415);
    const gzip = await write(s.url, payload, { 'content-encoding': 'gzip' });
    assert.equal(gzip.status, 415);
    assert.match(gzip.json?.message ?? '', /Content-Encoding "gzip": expected snappy/);
  });

  test('size limits answer 413 naming the limit', async () => {
    const many = await write(s.url, body(ramp('h', 10, 501)));
    assert.equal(many.status, 413);
    assert.equal(many.json?.code, 'VIGIL_ERR_PAYLOAD_TOO_LARGE');
    assert.match(
      many.json?.message ?? '',
      /at least 5001 samples in one request, the limit is 5000/,
    );

    const incompressible = Rng.fromSeed(7);
    const noise = Buffer.from(Array.from({ length: 70 * 1024 }, () => incompressible.int(256)));
    const big = await write(s.url, noise);
    assert.equal(big.status, 413);
    assert.match(big.json?.message ?? '', /max_compressed_bytes = 65536/);

    // A snappy preamble declaring 296 KiB: refused before decompressing.
    const declared = Buffer.from([0x80, 0xc0, 0x12, 0x00]); // varint 303104
    const huge = await write(s.url, declared);
    assert.equal(huge.status, 413);
    assert.match(
      huge.json?.message ?? '',
      /declares 303104 decompressed bytes, the limit is 262144/,
    );
  });

  test('series, labels and label bytes answer 413 naming the limit, counted while decoding', async () => {
    const expect413 = async (request: WriteRequest, pattern: RegExp): Promise<void> => {
      const r = await write(s.url, body(request));
      assert.equal(r.status, 413, JSON.stringify(r.json));
      assert.equal(r.json?.code, 'VIGIL_ERR_PAYLOAD_TOO_LARGE');
      assert.match(r.json?.message ?? '', pattern);
    };
    // Decoding stops at the 101st series, before reading it.
    const narrow = Array.from({ length: 101 }, (_, k) => ({
      labels: labels({ __name__: `n${k}` }),
      samples: [{ value: 1, timestamp: T0 }],
    }));
    await expect413(
      { timeseries: narrow },
      /more series in one request, the limit is 100 \(remote_write\.max_series_per_request\)/,
    );
    const wide: Record<string, string> = { __name__: 'wide', instance: 'h' };
    for (let i = 0; i < 15; i++) wide[`l${i}`] = 'v';
    await expect413(
      { timeseries: [{ labels: labels(wide), samples: [{ value: 1, timestamp: T0 }] }] },
      /more labels in one series, the limit is 16 \(remote_write\.max_labels_per_series\)/,
    );
    // 80 series of 4 labels: each series is fine, the request is not.
    await expect413(
      ramp('h', 80, 1),
      /more labels in one request, the limit is 300 \(remote_write\.max_labels_per_request\)/,
    );
    await expect413(
      ramp('h'.repeat(257), 1, 1),
      /a label value of 257 bytes, the limit is 256 \(remote_write\.max_label_bytes\)/,
    );
    const longName = labels({ __name__: 'x', instance: 'h' });
    longName.push({ name: 'n'.repeat(300), value: 'v' });
    await expect413(
      { timeseries: [{ labels: longName, samples: [{ value: 1, timestamp: T0 }] }] },
      /a label name of 300 bytes, the limit is 256/,
    );
    // Within every limit, the same shapes are accepted.
    const fits = await write(s.url, body(ramp('fits', 75, 1)));
    assert.equal(fits.status, 204, JSON.stringify(fits.json));
  });

  test('bad bodies are 400 with what is wrong', async () => {
    const empty = await write(s.url, new Uint8Array(0));
    assert.equal(empty.status, 400);
    assert.match(empty.json?.message ?? '', /empty body/);
    const notSnappy = await write(s.url, Buffer.from('hello, this is not snappy'));
    assert.equal(notSnappy.status, 400);
    assert.match(notSnappy.json?.message ?? '', /not valid snappy block data/);
    const notProto = await write(s.url, compressSync(Buffer.from([0x0f, 0xff, 0xff, 0xff])));
    assert.equal(notProto.status, 400);
    assert.match(notProto.json?.message ?? '', /not a protobuf prometheus\.WriteRequest/);
  });

  for (const [name, bad] of [
    ['a broken pair C3 28', [0xc3, 0x28]],
    ['an overlong C0 AF', [0xc0, 0xaf]],
  ] as const) {
    test(`${name} in a label value is refused whole, naming where; nothing stored`, async () => {
      const instance = `u8-${bad[0]}`;
      const request = {
        timeseries: [
          ...ramp(`${instance}-ok`, 1, 3).timeseries,
          ...ramp(`${instance}ZZ`, 1, 3).timeseries,
        ],
      };
      // Same length as the placeholder: the protobuf lengths stay right.
      const raw = Buffer.from(encodeWriteRequest(request));
      const at = raw.indexOf(Buffer.from('ZZ'));
      raw[at] = bad[0];
      raw[at + 1] = bad[1];
      const r = await write(s.url, compressSync(raw));
      assert.equal(r.status, 400);
      assert.equal(r.json?.code, 'VIGIL_ERR_INPUT');
      assert.match(r.json?.message ?? '', /a label value .* is not valid UTF-8 at byte \d+/);
      await s.engine.flush();
      const stored = await s.store.querier.devices();
      assert.deepEqual(
        stored.filter((d) => d.startsWith(instance)),
        [],
      );
    });
  }

  test('valid multi-byte UTF-8 (CJK, emoji) in labels is accepted as sent', async () => {
    for (const instance of ['泵-七:9100', 'pump-🚰:9100']) {
      const r = await write(s.url, body(ramp(instance, 1, 2)));
      assert.equal(r.status, 204);
    }
    await s.engine.flush();
    const stored = await s.store.querier.devices();
    assert.ok(stored.includes('泵-七:9100') && stored.includes('pump-🚰:9100'), stored.join());
  });

  test('fuzz: corrupt snappy and protobuf bodies never crash and never get a 5xx', async () => {
    const rng = Rng.fromSeed(20260101);
    const valid = encodeWriteRequest(ramp('fuzz', 4, 30));
    const cases: { name: string; payload: Uint8Array; must4xx: boolean }[] = [];
    const flip = (bytes: Uint8Array, flips: number): Buffer => {
      const copy = Buffer.from(bytes);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(copy.length);
        copy[at] = (copy[at] ?? 0) ^ (1 << rng.int(8));
      }
      return copy;
    };
    for (let i = 0; i < 25; i++) {
      const compressed = compressSync(Buffer.from(valid));
      const cut = 1 + rng.int(compressed.length - 1);
      // A truncated snappy block no longer holds its declared length: always an error.
      cases.push({
        name: `truncated snappy at ${cut}`,
        payload: compressed.subarray(0, cut),
        must4xx: true,
      });
      cases.push({
        name: `bit-flipped snappy #${i}`,
        payload: flip(compressed, 1 + rng.int(4)),
        must4xx: false,
      });
      const protoCut = 1 + rng.int(valid.length - 1);
      cases.push({
        name: `truncated protobuf at ${protoCut}`,
        payload: compressSync(Buffer.from(valid.subarray(0, protoCut))),
        must4xx: false,
      });
      cases.push({
        name: `bit-flipped protobuf #${i}`,
        payload: compressSync(flip(valid, 1 + rng.int(4))),
        must4xx: false,
      });
      const random = Buffer.from(Array.from({ length: 1 + rng.int(300) }, () => rng.int(256)));
      cases.push({ name: `random bytes #${i}`, payload: random, must4xx: true });
    }
    // Protobuf fields declaring lengths far beyond the message, and a 4 GiB snappy preamble.
    for (const declared of [
      [0x0a, 0xff, 0xff, 0xff, 0xff, 0x07],
      [0x0a, 0x05, 0x0a, 0xff, 0xff, 0xff, 0x7f],
      [0x0a, 0x04, 0x12, 0x80, 0x80, 0x80, 0x08],
    ]) {
      cases.push({
        name: `huge protobuf length ${declared.join(',')}`,
        payload: compressSync(Buffer.from(declared)),
        must4xx: true,
      });
    }
    cases.push({
      name: '4 GiB snappy preamble',
      payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0]),
      must4xx: true,
    });

    let rejected = 0;
    for (const c of cases) {
      const r = await write(s.url, c.payload);
      assert.ok(r.status < 500, `${c.name}: answered ${r.status} ${JSON.stringify(r.json)}`);
      if (c.must4xx) assert.ok(r.status >= 400, `${c.name}: answered ${r.status}`);
      if (r.status >= 400) {
        rejected++;
        assert.match(r.json?.code ?? '', /^VIGIL_ERR_/, c.name);
        assert.ok((r.json?.message ?? '').length > 10, `${c.name}: message ${r.json?.message}`);
      }
    }
    assert.ok(rejected >= cases.length / 2, `${rejected} of ${cases.length} rejected`);
    const health = await fetch(`${s.url}/healthz`);
    assert.equal(health.status, 200);
  });

  test('a full engine answers 503 with Retry-After, so Prometheus retries', async () => {
    const r = await write(s.url, body(ramp('busy', 1, 2500)));
    assert.equal(r.status, 503);
    assert.equal(r.json?.code, 'VIGIL_ERR_BACKPRESSURE');
    assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(
      await metricValue(
        s,
        'vigil_ingest_points_total',
        'protocol="remote_write",result="backpressure"',
      ),
      2500,
    );
  });
});

/** Remote-write v1 framing by hand: a WriteRequest of `series` series of `labels` empty labels. */
function emptyLabelBomb(totalBytes: number, labelsPerSeries: number): Buffer {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 127) {
      out.push((n & 127) | 128);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const inner = Buffer.alloc(2 * labelsPerSeries);
  for (let i = 0; i < labelsPerSeries; i++) inner[2 * i] = 0x0a; // Label{} = tag 1, length 0
  const item = Buffer.concat([Buffer.from([0x0a, ...varint(inner.length)]), inner]);
  const count = Math.floor(totalBytes / item.length);
  return Buffer.concat(Array.from({ length: count }, () => item));
}

describe('POST /api/v1/write: decoding bounded by the default limits', () => {
  let s: RunningVigil;
  before(async () => {
    s = await startVigil();
  });
  after(async () => {
    await s.stop();
  });

  // 1.5 MB of snappy that decompresses to 32 MB of empty labels took 3-4 s of event loop and
  // 1.6 GB before decoding was bounded; now the walk stops at the first limit crossed.
  for (const labelsPerSeries of [100, 100_000]) {
    test(`a 32 MB body of empty labels (${labelsPerSeries} per series) is refused quickly while /healthz answers`, async (t) => {
      const raw = emptyLabelBomb(32 * 1024 * 1024 - 64, labelsPerSeries);
      const payload = await compress(raw);
      assert.ok(payload.length < 1.7 * 1024 * 1024, `${payload.length} bytes of snappy`);
      // The service runs in this process: the event loop's delay is the handlers' blocking time.
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const started = performance.now();
      const writes = Promise.all(Array.from({ length: 4 }, () => write(s.url, payload)));
      const health = await fetch(`${s.url}/healthz`);
      const healthMs = performance.now() - started;
      const answers = await writes;
      const elapsed = performance.now() - started;
      delay.disable();
      const blockedMs = delay.max / 1e6;
      assert.equal(health.status, 200);
      for (const r of answers) {
        assert.equal(r.status, 413, JSON.stringify(r.json));
        assert.equal(r.json?.code, 'VIGIL_ERR_PAYLOAD_TOO_LARGE');
        assert.match(r.json?.message ?? '', /more labels in one (series|request)/);
      }
      const report = `four bodies answered in ${elapsed.toFixed(0)} ms, a concurrent /healthz in ${healthMs.toFixed(0)} ms, longest event-loop stall ${blockedMs.toFixed(0)} ms`;
      t.diagnostic(report);
      // Generous bounds (shared CI cores): the point is no longer seconds per body.
      assert.ok(blockedMs < 1000, report);
      assert.ok(elapsed < 4000, report);
    });
  }

  test('a 100k-character metric name gets an answer under 1 KB', async () => {
    const name = 'm'.repeat(100_000);
    const r = await write(
      s.url,
      body({
        timeseries: [
          {
            labels: labels({ __name__: name, instance: 'h' }),
            samples: [{ value: 1, timestamp: T0 }],
          },
        ],
      }),
    );
    assert.equal(r.status, 413);
    assert.ok(JSON.stringify(r.json).length < 1024, `${JSON.stringify(r.json).length} bytes`);
  });
});
