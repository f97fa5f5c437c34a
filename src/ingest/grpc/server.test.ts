/**
 * The gRPC server over a real socket, driven by a standard @grpc/grpc-js client built from the
 * .proto with proto-loader (not the server's own loader), against the real engine on an in-memory
 * PGlite store.
 */
import { VigilError } from '../../errors.js';
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { BackpressureError, type Engine } from '../../engine/engine.js';
import { createEngine } from '../../engine/create-engine.js';
import { sampleValue } from '../../metrics/testing.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { sleep } from '../../timing/sleep.js';
import type { DataPoint } from './generated/vigil/v1/DataPoint.js';
import type { IngestClient } from './generated/vigil/v1/Ingest.js';
import type { IngestAck__Output } from './generated/vigil/v1/IngestAck.js';
import type { IngestRequest } from './generated/vigil/v1/IngestRequest.js';
import { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './server.js';
import { loadVigilProto } from './proto.js';

const BASE = Date.UTC(2025, 0, 1);

const proto = loadVigilProto();

function connect(port: number): IngestClient {
  return new proto.vigil.v1.Ingest(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function point(device: string, i: number, seq?: number): DataPoint {
  return {
    timestamp: BASE + i * 1000,
    device_id: device,
    metrics: { temp: 20 + Math.sin(i / 5), rpm: 1000 + (i % 7) },
    tags: { site: 'test' },
    ...(seq === undefined ? {} : { seq_id: seq }),
  };
}

function batch(device: string, from: number, n: number, seq: number): IngestRequest {
  return {
    batch: { seq_id: seq, points: Array.from({ length: n }, (_, k) => point(device, from + k)) },
  };
}

interface StreamResult {
  readonly acks: IngestAck__Output[];
  readonly status: grpc.StatusObject;
}

/** Opens Ingest.Stream; `done` resolves with every ack and the final status. */
function openStream(client: IngestClient): {
  call: grpc.ClientDuplexStream<IngestRequest, IngestAck__Output>;
  acks: IngestAck__Output[];
  done: Promise<StreamResult>;
} {
  const call = client.Stream();
  const acks: IngestAck__Output[] = [];
  call.on('data', (ack: IngestAck__Output) => acks.push(ack));
  call.on('error', () => {
    // Reported through 'status'.
  });
  // grpc-js emits 'status' after the last message has been delivered.
  const done = new Promise<StreamResult>((resolve) => {
    call.on('status', (status: grpc.StatusObject) => resolve({ acks, status }));
  });
  return { call, acks, done };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

describe('gRPC ingest server', () => {
  let store: Store;
  let engine: Engine;
  const dirs: string[] = [];
  const servers: GrpcServer[] = [];
  const clients: IngestClient[] = [];

  async function server(extra: Partial<GrpcServerOptions> = {}): Promise<GrpcServer> {
    const s = await startGrpcServer({ engine, port: 0, ...extra });
    servers.push(s);
    return s;
  }
  function client(port: number): IngestClient {
    const c = connect(port);
    clients.push(c);
    return c;
  }

  before(async () => {
    store = await openStore();
    const spoolDir = await mkdtemp(path.join(tmpdir(), 'vigil-grpc-'));
    dirs.push(spoolDir);
    engine = await createEngine({ store, spoolDir, checkpointEveryMs: 0 });
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.close({ timeoutMs: 1000 });
    await engine.close();
    await store.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('acks single points and batches in order, echoing seq_ids, once durable', async () => {
    const s = await server();
    const before = engine.stats().accepted;
    const { call, done } = openStream(client(s.port));
    const sent: string[] = [];
    let points = 0;
    for (let i = 0; i < 50; i++) {
      call.write({ point: point('order-1', i, 1 + i) });
      sent.push(String(1 + i));
      points++;
    }
    call.write(batch('order-1', 50, 1000, 1000));
    sent.push('1000');
    points += 1000;
    for (let i = 0; i < 10; i++) {
      call.write({ point: point('order-1', 1050 + i, 2000 + i) });
      sent.push(String(2000 + i));
      points++;
    }
    // A seq_id beyond 2^53 comes back exactly.
    call.write(batch('order-1', 1060, 3, 0));
    call.write({ batch: { seq_id: '18446744073709551615', points: [point('order-1', 1063)] } });
    sent.push('0', '18446744073709551615');
    points += 4;
    call.end();
    const { acks, status } = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(
      acks.map((a) => a.seq_id),
      sent,
    );
    for (const ack of acks) assert.equal(ack.status, 'STATUS_CODE_OK', ack.message);
    assert.equal(engine.stats().accepted - before, points);
    await engine.flush();
    const stored = await store.querier.points({
      device: 'order-1',
      metric: 'temp',
      from: 0,
      to: BASE * 2,
    });
    assert.equal(stored.kind, 'raw');
    assert.equal(stored.times.length, points);
  });

  it('rejects bad input with INVALID or PARTIAL acks naming the field, and keeps going', async () => {
    const s = await server({ maxMetricsPerPoint: 3, maxPointsPerMessage: 100 });
    const { call, done } = openStream(client(s.port));
    const good = point('bad-1', 1);
    call.write({
      batch: {
        seq_id: 1,
        points: [
          good,
          { ...point('bad-1', 2), metrics: { temp: NaN } },
          { ...point('bad-1', 3), device_id: '' },
          point('bad-1', 4),
          { ...point('bad-1', 5), metrics: { a: 1, b: 2, c: 3, d: 4 } },
          { ...point('bad-1', 6), timestamp: 0 },
        ],
      },
    });
    call.write({ point: { ...point('bad-1', 7, 2), metrics: { temp: Infinity } } });
    call.write({ point: { ...point('bad-1', 8, 3), timestamp: '9007199254740993' } });
    call.write({});
    call.write(batch('bad-1', 10, 101, 5));
    call.write({ batch: { seq_id: 6, points: [] } });
    call.write({ point: point('bad-1', 200, 7) });
    call.end();
    const { acks, status } = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(
      acks.map((a) => [a.seq_id, a.status]),
      [
        ['1', 'STATUS_CODE_PARTIAL'],
        ['2', 'STATUS_CODE_INVALID'],
        ['3', 'STATUS_CODE_INVALID'],
        ['0', 'STATUS_CODE_INVALID'],
        ['5', 'STATUS_CODE_INVALID'],
        ['6', 'STATUS_CODE_INVALID'],
        ['7', 'STATUS_CODE_OK'],
      ],
    );
    const [partial, inf, big, empty, tooMany, noPoints] = acks as [
      IngestAck__Output,
      IngestAck__Output,
      IngestAck__Output,
      IngestAck__Output,
      IngestAck__Output,
      IngestAck__Output,
    ];
    assert.deepEqual(
      partial.errors.map((e) => e.index),
      [1, 2, 4, 5],
    );
    const messages = partial.errors.map((e) => e.message);
    assert.match(messages[0] ?? '', /^metrics\.temp: NaN/);
    assert.match(messages[1] ?? '', /^device_id: /);
    assert.match(messages[2] ?? '', /^metrics: 4 metrics, at most 3/);
    assert.match(messages[3] ?? '', /^timestamp: /);
    for (const e of partial.errors) assert.equal(e.code, 'VIGIL_ERR_INPUT');
    assert.match(partial.message, /4 of 6 points rejected/);
    assert.match(inf.message, /^metrics\.temp: Infinity/);
    assert.deepEqual(
      inf.errors.map((e) => e.index),
      [0],
    );
    assert.match(big.message, /^timestamp: 9007199254740993/);
    assert.match(empty.message, /^payload: /);
    assert.match(tooMany.message, /^batch\.points: 101 points, at most 100/);
    assert.match(noPoints.message, /^batch\.points: empty/);
  });

  it('scores points synchronously with Detect, and rejects bad ones with the field', async () => {
    const s = await server();
    const c = client(s.port);
    const { call, done } = openStream(c);
    call.write(batch('detect-1', 0, 300, 1));
    call.end();
    await done;
    const before = engine.stats().accepted;
    const response = await new Promise<{
      scores: { device_id: string; metric: string; timestamp: string; score: number }[];
    }>((resolve, reject) =>
      c.Detect({ points: [point('detect-1', 300), point('detect-1', 301)] }, (err, res) =>
        err || !res ? reject(err ?? new Error('no response')) : resolve(res),
      ),
    );
    assert.equal(response.scores.length, 4);
    for (const score of response.scores) {
      assert.equal(score.device_id, 'detect-1');
      assert.ok(['temp', 'rpm'].includes(score.metric));
      assert.ok(Number.isFinite(score.score));
    }
    assert.deepEqual(
      response.scores.map((x) => x.timestamp).sort(),
      [300, 300, 301, 301].map((i) => String(BASE + i * 1000)),
    );
    assert.equal(engine.stats().accepted, before, 'Detect stores nothing');

    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      c.Detect(
        { points: [point('detect-1', 302), { ...point('detect-1', 303), timestamp: 0 }] },
        (e) => resolve(e),
      ),
    );
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(
      err?.details,
      'points[1].timestamp: missing (0) is not a positive ms timestamp below 2^53',
    );
    // Refused by the engine's validation, not the decoder: the same path form.
    const nan = await new Promise<grpc.ServiceError | null>((resolve) =>
      c.Detect(
        {
          points: [
            point('detect-1', 304),
            { ...point('detect-1', 305), metrics: { temp: Number.NaN } },
          ],
        },
        (e) => resolve(e),
      ),
    );
    assert.equal(nan?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(nan?.details, 'points[1].metrics.temp: NaN is not a finite number');
    const empty = await new Promise<grpc.ServiceError | null>((resolve) =>
      c.Detect({ points: [{ ...point('detect-1', 306), device_id: '' }] }, (e) => resolve(e)),
    );
    assert.equal(empty?.details, 'points[0].device_id: must not be empty');
  });

  it('applies max concurrent streams per connection', async () => {
    const s = await server({ maxConcurrentStreams: 2 });
    const c = client(s.port);
    const first = openStream(c);
    const second = openStream(c);
    first.call.write({ point: point('conc-1', 1, 1) });
    second.call.write({ point: point('conc-2', 1, 1) });
    await until(() => first.acks.length === 1 && second.acks.length === 1);
    const third = openStream(c);
    third.call.write({ point: point('conc-3', 1, 1) });
    await sleep(300);
    assert.equal(third.acks.length, 0, 'a third stream is not served while two are open');
    first.call.end();
    await first.done;
    await until(() => third.acks.length === 1);
    second.call.end();
    third.call.end();
    assert.equal((await third.done).status.code, grpc.status.OK);
    await second.done;
  });

  it('slows the client under engine backpressure instead of dropping', async () => {
    const spoolDir = await mkdtemp(path.join(tmpdir(), 'vigil-grpc-'));
    dirs.push(spoolDir);
    // The limit counts values: 3000 is 1500 points of two metrics.
    const small = await createEngine({ store, spoolDir, checkpointEveryMs: 0, queueLimit: 3000 });
    let refused = 0;
    const counting: Pick<Engine, 'ingest' | 'detect'> = {
      async ingest(points, source) {
        try {
          return await small.ingest(points, source);
        } catch (err) {
          if (err instanceof BackpressureError) refused++;
          throw err;
        }
      },
      detect: (points) => small.detect(points),
    };
    const s = await server({ engine: counting, maxPointsPerIngest: 1000 });
    const { call, done } = openStream(client(s.port));
    for (let b = 0; b < 30; b++) call.write(batch('bp-1', b * 1000, 1000, b + 1));
    call.end();
    const { acks, status } = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.equal(acks.length, 30);
    assert.deepEqual(
      acks.map((a) => [a.seq_id, a.status]),
      Array.from({ length: 30 }, (_, b) => [String(b + 1), 'STATUS_CODE_OK']),
    );
    assert.ok(refused > 0, 'the engine pushed back at least once');
    await s.close();
    await small.close();
  });

  it('answers Detect with UNAVAILABLE (retry) when nothing can score now, INTERNAL for a fault', async () => {
    const failing = (error: Error): Pick<Engine, 'ingest' | 'detect'> => ({
      ingest: () => Promise.reject(new Error('not used')),
      detect: () => Promise.reject(error),
    });
    const cases = [
      [
        new VigilError('VIGIL_ERR_NOT_READY', 'partition 3 has no scorer answering now; retry'),
        grpc.status.UNAVAILABLE,
      ],
      [new VigilError('VIGIL_ERR_STORE_UNAVAILABLE', 'store away'), grpc.status.UNAVAILABLE],
      [new Error('a bug'), grpc.status.INTERNAL],
    ] as const;
    for (const [error, expected] of cases) {
      const s = await server({ engine: failing(error) });
      const status = await new Promise<grpc.ServiceError | null>((resolve) =>
        client(s.port).Detect({ points: [point('detect-x', 1)] }, (e) => resolve(e)),
      );
      assert.equal(status?.code, expected, error.message);
      assert.match(status?.details ?? '', new RegExp(error.message.slice(0, 12)));
      await s.close();
    }
  });

  it('counts every point in vigil_ingest_points_total{protocol="grpc"}: accepted, rejected', async () => {
    const spoolDir = await mkdtemp(path.join(tmpdir(), 'vigil-grpc-'));
    dirs.push(spoolDir);
    const registry = new Registry();
    const counted = await createEngine({ store, registry, spoolDir, checkpointEveryMs: 0 });
    const s = await server({ engine: counted, registry, maxMetricsPerPoint: 3 });
    const { call, done } = openStream(client(s.port));
    for (let i = 0; i < 5; i++) call.write({ point: point('count-1', i, 1 + i) });
    call.write(batch('count-1', 5, 20, 10));
    call.write({
      batch: {
        seq_id: 11,
        points: [
          point('count-1', 25),
          { ...point('count-1', 26), metrics: { temp: NaN } },
          { ...point('count-1', 27), metrics: { a: 1, b: 2, c: 3, d: 4 } },
        ],
      },
    });
    call.end();
    const { acks, status } = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.equal(acks.length, 7);
    const value = (result: string): Promise<number> =>
      sampleValue(registry, 'vigil_ingest_points_total', `protocol="grpc",result="${result}"`);
    // 26 sent well-formed; one refused by the engine (NaN), one by the wire decoder (4 metrics).
    assert.equal(await value('accepted'), 26);
    assert.equal(await value('rejected'), 2);
    await s.close();
    await counted.close();
  });

  it('close() acks what was read, ends streams with UNAVAILABLE, and refuses new calls', async () => {
    const s = await server();
    const c = client(s.port);
    const { call, acks, done } = openStream(c);
    let writes = 0;
    let over = false;
    void done.then(() => (over = true));
    const writer = (async () => {
      for (let b = 0; b < 200; b++) {
        writes++;
        if (over) return;
        if (!call.write(batch('close-1', b * 200, 200, b + 1))) {
          await Promise.race([new Promise((r) => call.once('drain', r)), done]);
        }
        if (acks.length > 0 && b > 20) return;
      }
    })();
    await until(() => acks.length > 0);
    await s.close();
    const { status } = await done;
    await writer;
    assert.ok(
      status.code === grpc.status.UNAVAILABLE || status.code === grpc.status.OK,
      `status ${status.code} ${status.details}`,
    );
    assert.ok(acks.length <= writes);
    assert.deepEqual(
      acks.map((a) => [a.seq_id, a.status]),
      acks.map((_, i) => [String(i + 1), 'STATUS_CODE_OK']),
    );
    const after = openStream(client(s.port));
    after.call.write({ point: point('close-1', 1, 1) });
    const refused = await after.done;
    assert.notEqual(refused.status.code, grpc.status.OK);
    assert.equal(refused.acks.length, 0);
  });
});
