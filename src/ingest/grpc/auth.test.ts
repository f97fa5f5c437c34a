/**
 * Token checks on the gRPC server over a real socket, with a standard @grpc/grpc-js client built
 * from the .proto and the real engine on an in-memory PGlite store: refused calls end with
 * UNAUTHENTICATED or PERMISSION_DENIED and store nothing; an ingest token's points are acked and
 * stored.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashSecret, TokenSet } from '../../auth/token-set.js';
import { createEngine } from '../../engine/create-engine.js';
import type { Engine } from '../../engine/engine.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import type { DataPoint } from './generated/vigil/v1/DataPoint.js';
import type { DetectResponse__Output } from './generated/vigil/v1/DetectResponse.js';
import type { IngestClient } from './generated/vigil/v1/Ingest.js';
import type { IngestAck__Output } from './generated/vigil/v1/IngestAck.js';
import { startGrpcServer, type GrpcServer } from './server.js';
import { loadVigilProto } from './proto.js';

const BASE = Date.UTC(2025, 3, 1);

const proto = loadVigilProto();

const INGEST = 'ingest-secret-0123456789abcdef';
const READ = 'read-secret-0123456789abcdef';
const ADMIN = 'admin-secret-0123456789abcdef';
const tokens = new TokenSet([
  { name: 'sensor-gateway', sha256: hashSecret(INGEST), scopes: ['ingest'] },
  { name: 'dashboard', sha256: hashSecret(READ), scopes: ['read'] },
  { name: 'ops', sha256: hashSecret(ADMIN), scopes: ['admin'] },
]);

function point(device: string, i: number): DataPoint {
  return { timestamp: BASE + i * 1000, device_id: device, metrics: { temp: 20 + (i % 5) } };
}

function bearer(value: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (value !== undefined) metadata.set('authorization', value);
  return metadata;
}

interface StreamResult {
  readonly acks: IngestAck__Output[];
  readonly status: grpc.StatusObject;
}

/** One Stream call sending `n` single points of `device`, then ending. */
function stream(client: IngestClient, metadata: grpc.Metadata, device: string, n: number) {
  const call = client.Stream(metadata);
  const acks: IngestAck__Output[] = [];
  call.on('data', (ack: IngestAck__Output) => acks.push(ack));
  call.on('error', () => {
    // Reported through 'status'.
  });
  const done = new Promise<StreamResult>((resolve) => {
    call.on('status', (status: grpc.StatusObject) => resolve({ acks, status }));
  });
  for (let i = 0; i < n; i++) call.write({ point: { ...point(device, i), seq_id: i + 1 } });
  call.end();
  return done;
}

function detect(
  client: IngestClient,
  metadata: grpc.Metadata,
  points: DataPoint[],
): Promise<{ err: grpc.ServiceError | null; res: DetectResponse__Output | undefined }> {
  return new Promise((resolve) =>
    client.Detect({ points }, metadata, (err, res) => resolve({ err, res })),
  );
}

describe('gRPC token checks', () => {
  let store: Store;
  let engine: Engine;
  let dir: string;
  let server: GrpcServer;
  let open: GrpcServer;
  let client: IngestClient;
  let openClient: IngestClient;

  const stored = async (device: string): Promise<number> => {
    await engine.flush();
    const points = await store.querier.points({ device, metric: 'temp', from: 0, to: BASE * 2 });
    return points.kind === 'raw' ? points.times.length : -1;
  };

  before(async () => {
    store = await openStore();
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-grpc-auth-'));
    engine = await createEngine({ store, spoolDir: dir, checkpointEveryMs: 0 });
    server = await startGrpcServer({ engine, port: 0, auth: tokens });
    // Configured without tokens: auth is off, as over HTTP.
    open = await startGrpcServer({ engine, port: 0, auth: new TokenSet([]) });
    client = new proto.vigil.v1.Ingest(
      `127.0.0.1:${server.port}`,
      grpc.credentials.createInsecure(),
    );
    openClient = new proto.vigil.v1.Ingest(
      `127.0.0.1:${open.port}`,
      grpc.credentials.createInsecure(),
    );
  });

  after(async () => {
    client?.close();
    openClient?.close();
    await server?.close({ timeoutMs: 1000 });
    await open?.close({ timeoutMs: 1000 });
    await engine?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a stream without a token ends UNAUTHENTICATED, with no ack and nothing stored', async () => {
    const { acks, status } = await stream(client, bearer(undefined), 'no-token', 5);
    assert.equal(status.code, grpc.status.UNAUTHENTICATED);
    assert.match(status.details, /no token; send metadata "authorization: Bearer <token>"/);
    assert.deepEqual(acks, []);
    assert.equal(await stored('no-token'), 0);
  });

  it('an unknown token, or one not sent as Bearer, ends UNAUTHENTICATED', async () => {
    const cases: [grpc.Metadata, RegExp][] = [
      [bearer('Bearer not-a-known-token'), /unknown token/],
      [bearer(`Basic ${INGEST}`), /not one "Bearer <token>"/],
      [bearer(INGEST), /not one "Bearer <token>"/],
    ];
    for (const [metadata, why] of cases) {
      const { acks, status } = await stream(client, metadata, 'bad-token', 3);
      assert.equal(status.code, grpc.status.UNAUTHENTICATED, status.details);
      assert.match(status.details, why);
      assert.deepEqual(acks, []);
    }
    assert.equal(await stored('bad-token'), 0);
  });

  it('a read-only token is PERMISSION_DENIED on Stream and Detect, naming the scope', async () => {
    const { acks, status } = await stream(client, bearer(`Bearer ${READ}`), 'read-only', 3);
    assert.equal(status.code, grpc.status.PERMISSION_DENIED);
    assert.equal(
      status.details,
      '/vigil.v1.Ingest/Stream needs scope ingest; token "dashboard" has read',
    );
    assert.deepEqual(acks, []);
    assert.equal(await stored('read-only'), 0);
    const { err } = await detect(client, bearer(`Bearer ${READ}`), [point('read-only', 1)]);
    assert.equal(err?.code, grpc.status.PERMISSION_DENIED);
    assert.match(err?.details ?? '', /Detect needs scope ingest/);
  });

  it('an ingest token streams: every point acked OK and stored', async () => {
    const { acks, status } = await stream(client, bearer(`bearer ${INGEST}`), 'allowed', 20);
    assert.equal(status.code, grpc.status.OK, status.details);
    assert.deepEqual(
      acks.map((a) => [a.seq_id, a.status]),
      Array.from({ length: 20 }, (_, i) => [String(i + 1), 'STATUS_CODE_OK']),
    );
    assert.equal(await stored('allowed'), 20);
  });

  it('Detect scores for an ingest or admin token, and is refused before its request is read', async () => {
    for (const token of [INGEST, ADMIN]) {
      const { err, res } = await detect(client, bearer(`Bearer ${token}`), [point('scored', 1)]);
      assert.equal(err, null);
      assert.equal(res?.scores.length, 1);
    }
    // A malformed request would be INVALID_ARGUMENT; without a token it is never decoded.
    const bad = { ...point('scored', 2), timestamp: 0 };
    const { err } = await detect(client, bearer(undefined), [bad]);
    assert.equal(err?.code, grpc.status.UNAUTHENTICATED);
    const decoded = await detect(client, bearer(`Bearer ${INGEST}`), [bad]);
    assert.equal(decoded.err?.code, grpc.status.INVALID_ARGUMENT);
  });

  it('with no tokens configured every call passes without metadata', async () => {
    const { acks, status } = await stream(openClient, bearer(undefined), 'auth-off', 4);
    assert.equal(status.code, grpc.status.OK, status.details);
    assert.equal(acks.length, 4);
    assert.equal(await stored('auth-off'), 4);
  });
});
