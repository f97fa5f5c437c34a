/**
 * `POST /v1/points` over a real socket into the real engine (in-memory PGlite), wired by the
 * shared test service as `vigil serve` wires it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { sampleValue } from '../../metrics/testing.js';
import {
  postPoints as post,
  samplePoints as points,
  startTestService,
  type TestService,
} from '../../server/testing/running-service.js';

type Running = TestService;

function start(options: { queueLimit?: number; bodyBytes?: number } = {}): Promise<Running> {
  return startTestService({
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
    ...(options.bodyBytes === undefined ? {} : { limits: { bodyBytes: options.bodyBytes } }),
  });
}

/** `vigil_ingest_points_total{protocol="http",result}` (0 when absent). */
const counted = (s: Running, result: string): Promise<number> =>
  sampleValue(s.registry, 'vigil_ingest_points_total', `protocol="http",result="${result}"`);

describe('POST /v1/points', () => {
  let s: Running;
  before(async () => {
    s = await start({ bodyBytes: 64 * 1024 });
  });
  after(async () => {
    await s.stop();
  });

  test('POST /v1/points takes a JSON array and answers per-point errors by index', async () => {
    const good = points('pump-a', 3);
    const body = [good[0], { timestamp: 'soon', device_id: 'x', metrics: {} }, good[1], good[2]];
    const r = await post(s.url, JSON.stringify(body));
    assert.equal(r.status, 200);
    const json = r.json as {
      accepted: number;
      errors: { index: number; code: string; message: string }[];
    };
    assert.equal(json.accepted, 3);
    assert.equal(json.errors.length, 1);
    assert.equal(json.errors[0]?.index, 1);
    assert.equal(json.errors[0]?.code, 'VIGIL_ERR_INPUT');
    assert.match(json.errors[0]?.message ?? '', /timestamp/);
  });

  test('POST /v1/points takes NDJSON; a malformed line is the error of its index', async () => {
    const [a, b, c] = points('pump-b', 3);
    const lines = [
      JSON.stringify(a),
      '{"timestamp": 1, "device_id": ',
      JSON.stringify(b),
      JSON.stringify({ ...c, device_id: '' }),
      '',
    ].join('\n');
    const r = await post(s.url, lines, 'application/x-ndjson');
    assert.equal(r.status, 200);
    const json = r.json as { accepted: number; errors: { index: number; message: string }[] };
    assert.equal(json.accepted, 2);
    assert.deepEqual(
      json.errors.map((e) => e.index),
      [1, 3],
    );
    assert.match(
      json.errors[0]?.message ?? '',
      /^line 2, column 31: not JSON: expected a value .*, found the end of the line$/,
    );
    assert.match(json.errors[1]?.message ?? '', /device_id/);
  });

  test('a body over the limit is 413 with a clear message', async () => {
    const r = await post(s.url, JSON.stringify(points('big', 2000)));
    assert.equal(r.status, 413);
    const json = r.json as { code: string; message: string };
    assert.equal(json.code, 'VIGIL_ERR_PAYLOAD_TOO_LARGE');
    assert.match(json.message, /limit of 65536 bytes/);
  });

  test('an unreadable body is 400, an unknown content type 415', async () => {
    const bad = await post(s.url, '[{', 'application/json');
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { code: string }).code, 'VIGIL_ERR_INPUT');
    const media = await post(s.url, '<p/>', 'application/xml');
    assert.equal(media.status, 415);
    assert.equal((media.json as { code: string }).code, 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  test('vigil_ingest_points_total{protocol="http"} counts what was sent: accepted, rejected', async () => {
    const accepted = await counted(s, 'accepted');
    const rejected = await counted(s, 'rejected');
    const good = points('count-1', 7);
    const ndjson = [
      ...good.map((p) => JSON.stringify(p)),
      'not json',
      JSON.stringify({ ...good[0], metrics: { temp: 'hot' } }),
      JSON.stringify({ ...good[0], device_id: '' }),
    ].join('\n');
    const r = await post(s.url, ndjson, 'application/x-ndjson');
    assert.equal(r.status, 200);
    assert.equal((r.json as { accepted: number }).accepted, 7);
    // Two refused by the route's parser, one by the engine's validation.
    assert.equal((await counted(s, 'accepted')) - accepted, 7);
    assert.equal((await counted(s, 'rejected')) - rejected, 3);
  });
});

describe('POST /v1/points: Content-Encoding, malformed JSON, content types', () => {
  let s: Running;
  before(async () => {
    s = await start({ bodyBytes: 64 * 1024 });
  });
  after(async () => {
    await s.stop();
  });

  const send = async (body: string | Uint8Array, headers: Record<string, string>) => {
    const res = await fetch(`${s.url}/v1/points`, { method: 'POST', headers, body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  for (const [encoding, encode] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ] as const) {
    test(`a ${encoding} body (JSON and NDJSON) is inflated and accepted`, async () => {
      const json = JSON.stringify(points(`enc-${encoding}`, 3));
      const a = await send(encode(json), {
        'content-type': 'application/json',
        'content-encoding': encoding,
      });
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.deepEqual(a.json, { accepted: 3, errors: [] });
      const ndjson = points(`enc-nd-${encoding}`, 2)
        .map((p) => JSON.stringify(p))
        .join('\n');
      const b = await send(encode(ndjson), {
        'content-type': 'application/x-ndjson',
        'content-encoding': encoding.toUpperCase(),
      });
      assert.equal(b.status, 200, JSON.stringify(b.json));
      assert.equal(b.json['accepted'], 2);
    });
  }

  test('a gzip bomb is 413 naming the limit on decompressed bytes; nothing stored', async () => {
    // 10 MB of a repeated point compresses to a few kB: under the 64 KiB limit on the wire.
    const one = JSON.stringify(points('bomb', 1)[0]);
    const body = `[${Array.from({ length: 10_000_000 / one.length }, () => one).join(',')}]`;
    const zipped = gzipSync(body);
    assert.ok(zipped.length < 64 * 1024, `compressed ${zipped.length} bytes`);
    const r = await send(zipped, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(r.status, 413);
    assert.equal(r.json['code'], 'VIGIL_ERR_PAYLOAD_TOO_LARGE');
    assert.match(
      String(r.json['message']),
      /decompressed body larger than the limit of 65536 bytes/,
    );
    await s.engine.flush();
    assert.ok(!(await s.store.querier.devices()).includes('bomb'));
  });

  test('another encoding is 415 naming the accepted ones; bytes that are not gzip are 400', async () => {
    const json = JSON.stringify(points('enc-bad', 1));
    const br = await send(json, { 'content-type': 'application/json', 'content-encoding': 'br' });
    assert.equal(br.status, 415);
    assert.equal(br.json['code'], 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
    assert.match(
      String(br.json['message']),
      /Content-Encoding "br": send gzip, deflate or no encoding/,
    );
    const plain = await send(json, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(plain.status, 400);
    assert.equal(plain.json['code'], 'VIGIL_ERR_INPUT');
    assert.match(String(plain.json['message']), /Content-Encoding gzip: body is not gzip data/);
  });

  test('malformed JSON is 400 naming line, column and byte of the fault', async () => {
    const cases: [body: string, message: RegExp][] = [
      ['[{"a":1,\n "b": }]', /at line 2, column 7 \(byte 15\): expected a value .*, found "\}"/],
      [
        '[{',
        /at line 1, column 3 \(byte 2\): expected a key in double quotes or '\}', found the end of the body/,
      ],
      ['[1,2', /at line 1, column 5 \(byte 4\): expected ',' or '\]', found the end of the body/],
      ['{"dévice": x}', /at line 1, column 12 \(byte 12\): expected a value/],
      ['[1] [2]', /at line 1, column 5 \(byte 4\): expected the end of the body, found "\["/],
    ];
    for (const [body, message] of cases) {
      const r = await send(body, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, body);
      assert.equal(r.json['code'], 'VIGIL_ERR_INPUT');
      assert.match(String(r.json['message']), /^body is not valid JSON at /);
      assert.match(String(r.json['message']), message, body);
    }
    // The same inside a gzip body: the position is in the inflated text.
    const r = await send(gzipSync('[{"a":1,\n "b": }]'), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.match(String(r.json['message']), /at line 2, column 7 \(byte 15\)/);
  });

  test('text/plain (and no content type) is 415 naming the types the route reads', async () => {
    const body = JSON.stringify(points('plain', 1));
    const streamed = new Blob([body]).stream(); // chunked, without Content-Length
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'Text/Plain; charset=utf-8' },
      {},
    ]) {
      for (const payload of [body, streamed]) {
        const res = await fetch(`${s.url}/v1/points`, {
          method: 'POST',
          headers,
          body: payload === streamed ? new Blob([body]).stream() : body,
          duplex: 'half',
        } as RequestInit);
        assert.equal(res.status, 415, JSON.stringify(headers));
        const answer = (await res.json()) as { code: string; message: string };
        assert.equal(answer.code, 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
        assert.match(
          answer.message,
          /^POST \/v1\/points reads application\/json, application\/x-ndjson, application\/jsonl, application\/jsonlines; the request's Content-Type is /,
        );
      }
    }
    // An empty body that names text/plain is refused too, not taken as zero points.
    const empty = await send('', { 'content-type': 'text/plain' });
    assert.equal(empty.status, 415, JSON.stringify(empty.json));
    assert.equal(empty.json['code'], 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE');
    await s.engine.flush();
    assert.ok(!(await s.store.querier.devices()).includes('plain'));
  });
});

test('a full engine answers 429 with Retry-After, nothing accepted', async () => {
  const s = await start({ queueLimit: 4 });
  try {
    const r = await post(s.url, JSON.stringify(points('flood', 10)));
    assert.equal(r.status, 429);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_BACKPRESSURE');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After ${retry}`);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /vigil_ingest_points_total\{protocol="http",result="backpressure"\} 10/);
  } finally {
    await s.stop();
  }
});

describe('POST /v1/points: bodies that are not UTF-8', () => {
  let s: Running;
  before(async () => {
    s = await start();
  });
  after(async () => {
    await s.stop();
  });

  /** A JSON point whose device id is `prefix` followed by the raw `bad` bytes. */
  const pointWith = (prefix: string, bad: number[]): Buffer =>
    Buffer.concat([
      Buffer.from(`{"timestamp":1767225600000,"device_id":"${prefix}`),
      Buffer.from(bad),
      Buffer.from('","metrics":{"temp":1}}'),
    ]);

  for (const [name, bad] of [
    ['a broken pair C3 28', [0xc3, 0x28]],
    ['an overlong C0 AF', [0xc0, 0xaf]],
  ] as const) {
    for (const type of ['application/json', 'application/x-ndjson']) {
      test(`${name} in a device id (${type}) is refused whole, naming the byte; nothing stored`, async () => {
        const device = `utf8-${type.length}-${bad[0]}`;
        const good = Buffer.from(JSON.stringify(points(device, 1)[0]));
        const one = pointWith(device, [...bad]);
        const body =
          type === 'application/json'
            ? Buffer.concat([Buffer.from('['), good, Buffer.from(','), one, Buffer.from(']')])
            : Buffer.concat([good, Buffer.from('\n'), one]);
        const r = await post(s.url, body, type);
        assert.equal(r.status, 400);
        const json = r.json as { code: string; message: string };
        assert.equal(json.code, 'VIGIL_ERR_INPUT');
        const at = body.indexOf(Buffer.from(bad));
        assert.match(json.message, new RegExp(`body is not valid UTF-8 at byte ${at}`));
        await s.engine.flush();
        assert.deepEqual(
          (await s.store.querier.devices()).filter((d) => d.startsWith(device)),
          [],
        );
      });
    }
  }

  test('valid multi-byte UTF-8 (CJK, emoji) is accepted and stored as sent', async () => {
    const devices = ['泵-七', 'pump-🚰'];
    const body = devices.map((d) => JSON.stringify(points(d, 1)[0])).join('\n');
    const r = await post(s.url, Buffer.from(body), 'application/x-ndjson');
    assert.equal(r.status, 200);
    assert.equal((r.json as { accepted: number }).accepted, 2);
    await s.engine.flush();
    const stored = await s.store.querier.devices();
    for (const d of devices) assert.ok(stored.includes(d), `${d} in ${stored.join(', ')}`);
  });
});
