import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { Rng } from '../../core/stats/rng.js';
import {
  decodeDetectRequest,
  decodeIngestRequest,
  encodeAck,
  type Ack,
  type Pending,
} from './wire.js';
import { INGEST_PROTO, PROTO_ROOT } from './proto.js';

// The reference encoder: protobufjs with the proto file, as any generated client would encode.
const root = new protobuf.Root().loadSync(path.join(PROTO_ROOT, INGEST_PROTO), { keepCase: true });
const IngestRequest = root.lookupType('vigil.v1.IngestRequest');
const DetectRequest = root.lookupType('vigil.v1.DetectRequest');
const encode = (type: protobuf.Type, message: object): Buffer =>
  Buffer.from(type.encode(type.fromObject(message)).finish());

const LIMITS = { maxMetricsPerPoint: 4, maxPointsPerMessage: 5 };
const decode = (message: object, limits = LIMITS): Pending =>
  decodeIngestRequest(encode(IngestRequest, message), limits);

describe('IngestRequest decoder', () => {
  it('decodes single points and batches as a generated encoder writes them', () => {
    const one = decode({
      point: {
        timestamp: 1_700_000_000_123,
        device_id: 'pump-7',
        metrics: { temp: 21.5, rpm: -3e10 },
        tags: { site: 'plant ä' },
        seq_id: 42,
      },
    });
    assert.deepEqual(one, {
      seqId: '42',
      points: [
        {
          timestamp: 1_700_000_000_123,
          device_id: 'pump-7',
          metrics: { temp: 21.5, rpm: -3e10 },
          tags: { site: 'plant ä' },
        },
      ],
      origin: undefined,
      total: 1,
      errors: [],
    });
    const batch = decode({
      batch: {
        seq_id: 7,
        points: [
          { timestamp: 5, device_id: 'a', metrics: { x: 1 } },
          { timestamp: 6, device_id: 'b', metrics: { y: Number.NaN } },
        ],
      },
    });
    assert.equal(batch.seqId, '7');
    assert.equal(batch.total, 2);
    assert.deepEqual(batch.points[0], { timestamp: 5, device_id: 'a', metrics: { x: 1 } });
    assert.ok(Number.isNaN(batch.points[1]?.metrics.y));
  });

  it('echoes 64-bit seq ids exactly and refuses timestamps that are not positive safe integers', () => {
    const max = decode({ point: { timestamp: 1, device_id: 'd', seq_id: '18446744073709551615' } });
    assert.equal(max.seqId, '18446744073709551615');
    const big = decode({ batch: { seq_id: '9007199254740993', points: [{ timestamp: 1 }] } });
    assert.equal(big.seqId, '9007199254740993');
    const bad = decode({
      batch: {
        seq_id: 1,
        points: [
          { timestamp: 0, device_id: 'd', metrics: { x: 1 } },
          { timestamp: -5, device_id: 'd', metrics: { x: 1 } },
          { timestamp: '9007199254740992', device_id: 'd', metrics: { x: 1 } },
          { timestamp: '9007199254740991', device_id: 'd', metrics: { x: 1 } },
        ],
      },
    });
    assert.deepEqual(
      bad.errors.map((e) => [e.index, e.message]),
      [
        [0, 'timestamp: missing (0) is not a positive ms timestamp below 2^53'],
        [1, 'timestamp: -5 is not a positive ms timestamp below 2^53'],
        [2, 'timestamp: 9007199254740992 is not a positive ms timestamp below 2^53'],
      ],
    );
    assert.deepEqual(bad.origin, [3]);
    assert.equal(bad.points[0]?.timestamp, Number.MAX_SAFE_INTEGER);
  });

  it('applies the limits: metrics per point, points per message, empty and missing payloads', () => {
    const metrics = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`m${i}`, i]));
    const many = decode({ point: { timestamp: 1, device_id: 'd', metrics } });
    assert.deepEqual(many.errors[0]?.message, 'metrics: 5 metrics, at most 4');
    const points = Array.from({ length: 6 }, (_, i) => ({ timestamp: i + 1, device_id: 'd' }));
    assert.equal(
      decode({ batch: { seq_id: 3, points } }).invalid,
      'batch.points: 6 points, at most 5 per message',
    );
    assert.equal(decode({ batch: { seq_id: 3 } }).invalid, 'batch.points: empty batch');
    assert.equal(decode({}).invalid, 'payload: neither point nor batch is set');
  });

  it('follows protobuf: unknown fields skipped, later map keys win, "__proto__" is a key', () => {
    const known = encode(IngestRequest, {
      point: { timestamp: 9, device_id: 'd', metrics: { a: 1 }, seq_id: 1 },
    });
    // Field 15 (varint) and field 16 (length-delimited) unknown to this schema, after the point.
    const unknown = Buffer.from([0x78, 0x96, 0x01, 0x82, 0x01, 0x02, 0x68, 0x69]);
    const decoded = decodeIngestRequest(Buffer.concat([known, unknown]), LIMITS);
    assert.deepEqual(decoded.points, [{ timestamp: 9, device_id: 'd', metrics: { a: 1 } }]);
    // Two entries for one key, and a key that names the prototype: written by hand.
    const entry = (key: string, value: number): Buffer => {
      const k = Buffer.from(key);
      const v = Buffer.alloc(8);
      v.writeDoubleLE(value);
      const body = Buffer.concat([Buffer.from([0x0a, k.length]), k, Buffer.from([0x11]), v]);
      return Buffer.concat([Buffer.from([0x1a, body.length]), body]);
    };
    const point = Buffer.concat([
      Buffer.from([0x08, 0x05]), // timestamp 5
      entry('a', 1),
      entry('a', 2),
      entry('__proto__', 3),
    ]);
    const request = Buffer.concat([Buffer.from([0x0a, point.length]), point]);
    const [p] = decodeIngestRequest(request, LIMITS).points;
    assert.equal(p?.metrics.a, 2);
    assert.equal(Object.getOwnPropertyDescriptor(p?.metrics, '__proto__')?.value, 3);
    assert.equal(Object.getPrototypeOf(p?.metrics), Object.prototype);
    assert.deepEqual(Object.keys(p?.metrics ?? {}), ['a', '__proto__']);
  });

  it('throws a clear error on bytes that are not protobuf, and never anything else', () => {
    const good = encode(IngestRequest, {
      batch: { seq_id: 1, points: [{ timestamp: 1, device_id: 'dev', metrics: { x: 1 } }] },
    });
    assert.throws(
      () => decodeIngestRequest(good.subarray(0, good.length - 3), LIMITS),
      /^VigilError: invalid IngestRequest: /,
    );
    const rng = Rng.fromSeed(7);
    let threw = 0;
    for (let k = 0; k < 3000; k++) {
      const bytes = Buffer.from(good);
      for (let j = 0; j < 3; j++) bytes[rng.int(bytes.length)] = rng.int(256);
      try {
        const out = decodeIngestRequest(bytes.subarray(0, 1 + rng.int(40)), LIMITS);
        assert.equal(typeof out.seqId, 'string');
      } catch (error) {
        threw++;
        assert.match(String(error), /^VigilError: invalid IngestRequest: /);
      }
    }
    assert.ok(threw > 0 && threw < 3000, `${threw} of 3000 corrupted messages threw`);
  });

  for (const [name, bad] of [
    ['a broken pair C3 28', [0xc3, 0x28]],
    ['an overlong C0 AF', [0xc0, 0xaf]],
  ] as const) {
    it(`refuses ${name} in a device id, a metric name or a tag, never replacing it`, () => {
      for (const point of [
        { timestamp: 1, device_id: 'devZZ', metrics: { x: 1 } },
        { timestamp: 1, device_id: 'dev', metrics: { xZZ: 1 } },
        { timestamp: 1, device_id: 'dev', metrics: { x: 1 }, tags: { site: 'aZZ' } },
      ]) {
        const bytes = encode(IngestRequest, { batch: { seq_id: 1, points: [point] } });
        const at = bytes.indexOf(Buffer.from('ZZ'));
        bytes[at] = bad[0];
        bytes[at + 1] = bad[1];
        assert.throws(
          () => decodeIngestRequest(bytes, LIMITS),
          /^VigilError: invalid IngestRequest: string at byte \d+ is not valid UTF-8 at byte \d+/,
        );
      }
    });
  }

  it('decodes valid multi-byte UTF-8 (CJK, emoji) as sent', () => {
    const r = decode({ point: { timestamp: 1, device_id: '泵-🚰', metrics: { 温度: 1 } } });
    assert.deepEqual(r.points[0], { timestamp: 1, device_id: '泵-🚰', metrics: { 温度: 1 } });
  });

  it('decodes Detect requests, naming the first bad point', () => {
    const ok = decodeDetectRequest(
      encode(DetectRequest, { points: [{ timestamp: 3, device_id: 'd', metrics: { x: 2 } }] }),
      LIMITS,
    );
    assert.deepEqual(ok, { points: [{ timestamp: 3, device_id: 'd', metrics: { x: 2 } }] });
    const bad = decodeDetectRequest(
      encode(DetectRequest, { points: [{ timestamp: 3 }, { timestamp: 0 }, { timestamp: -1 }] }),
      LIMITS,
    );
    assert.deepEqual(bad, {
      error: 'points[1].timestamp: missing (0) is not a positive ms timestamp below 2^53',
    });
    const points = Array.from({ length: 6 }, (_, i) => ({ timestamp: i + 1 }));
    assert.deepEqual(decodeDetectRequest(encode(DetectRequest, { points }), LIMITS), {
      error: 'points: 6 points, at most 5',
    });
  });
});

describe('IngestAck encoder', () => {
  const IngestAck = root.lookupType('vigil.v1.IngestAck');
  const decodeAck = (bytes: Buffer): object =>
    IngestAck.toObject(IngestAck.decode(bytes), { longs: String, enums: String, defaults: true });

  it('writes what a generated decoder reads back, 64-bit seq ids and errors included', () => {
    const acks: Ack[] = [
      { seq_id: '0', status: 'STATUS_CODE_OK', message: '', errors: [] },
      { seq_id: '42', status: 'STATUS_CODE_OK', message: '', errors: [] },
      { seq_id: '18446744073709551615', status: 'STATUS_CODE_RETRY', message: 'later', errors: [] },
      {
        seq_id: '9007199254740993',
        status: 'STATUS_CODE_PARTIAL',
        message: '2 of 3 points rejected; first: points[0] ä',
        errors: [
          { index: 0, code: 'VIGIL_ERR_INPUT', message: 'timestamp: missing (0)' },
          { index: 2, code: 'VIGIL_ERR_INPUT', message: '' },
        ],
      },
    ];
    for (const ack of acks) {
      assert.deepEqual(decodeAck(encodeAck(ack)), {
        ...ack,
        errors: ack.errors.map((e) => ({ ...e })),
      });
    }
  });
});
