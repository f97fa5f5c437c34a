import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compressSync } from 'snappy';
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
      limits: { maxCompressedBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024, maxSamples: 5000 },
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
    assert.match(many.json?.message ?? '', /5010 samples in one request, the limit is 5000/);

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
