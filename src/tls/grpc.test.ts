/**
 * gRPC over TLS end to end: the real gRPC server with certificates made by openssl, a standard
 * @grpc/grpc-js client with `credentials.createSsl`, client certificates, and reloads while
 * serving (grpc-js certificate-provider credentials).
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../engine/create-engine.js';
import type { Engine } from '../engine/engine.js';
import type { IngestClient } from '../ingest/grpc/generated/vigil/v1/Ingest.js';
import type { IngestAck__Output } from '../ingest/grpc/generated/vigil/v1/IngestAck.js';
import { startGrpcServer, type GrpcServer } from '../ingest/grpc/server.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { loadTlsMaterial } from './material.js';
import { watchTls, type TlsReloader } from './reloader.js';
import { makeTestPki, type Pair, type TestPki } from './testing/certs.js';
import { installPair, servedSerial } from './testing/clients.js';
import { loadVigilProto } from '../ingest/grpc/proto.js';

const proto = loadVigilProto();

const quiet = { info: () => undefined, warn: () => undefined };
const T0 = Date.UTC(2026, 0, 1);

interface StreamOutcome {
  readonly acks: IngestAck__Output[];
  readonly status: grpc.StatusObject;
}

/** Stream `batches` batches of 10 points and half-close; every ack and the final status. */
function streamPoints(
  client: IngestClient,
  device: string,
  batches: number,
): Promise<StreamOutcome> {
  const call = client.Stream({ deadline: Date.now() + 20_000 });
  const acks: IngestAck__Output[] = [];
  call.on('data', (ack: IngestAck__Output) => acks.push(ack));
  call.on('error', () => {
    // Reported through 'status'.
  });
  const done = new Promise<StreamOutcome>((resolve) => {
    call.on('status', (status: grpc.StatusObject) => resolve({ acks, status }));
  });
  for (let b = 0; b < batches; b++) {
    const points = Array.from({ length: 10 }, (_, i) => ({
      timestamp: T0 + (b * 10 + i) * 1000,
      device_id: device,
      metrics: { temp: 20 + i },
    }));
    call.write({ batch: { seq_id: b + 1, points } });
  }
  call.end();
  return done;
}

describe('gRPC over TLS', () => {
  let dir: string;
  let pki: TestPki;
  let ca: Buffer;
  let store: Store;
  let engine: Engine;
  let n = 0;
  const cleanup: (() => unknown)[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-grpc-tls-'));
    pki = await makeTestPki(dir);
    ca = await readFile(pki.ca);
    store = await openStore();
    engine = await createEngine({ store, spoolDir: path.join(dir, 'spool'), checkpointEveryMs: 0 });
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await engine.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function tlsServer(
    clientCa?: string,
  ): Promise<{ live: string; tls: TlsReloader; server: GrpcServer }> {
    const live = path.join(dir, `live-${n++}`);
    await mkdir(live);
    const pair = await installPair(live, pki.server);
    const files = {
      cert: { path: pair.cert, source: '--tls-cert' },
      key: { path: pair.key, source: '--tls-key' },
      ...(clientCa === undefined
        ? {}
        : { clientCa: { path: clientCa, source: '--tls-client-ca' } }),
    };
    const tls = watchTls({
      files,
      initial: await loadTlsMaterial(files),
      log: quiet,
      debounceMs: 50,
      rescanMs: 0,
    });
    const server = await startGrpcServer({ engine, port: 0, tls });
    cleanup.push(
      () => tls.close(),
      () => server.close({ timeoutMs: 1000 }),
    );
    return { live, tls, server };
  }

  async function client(port: number, own?: Pair): Promise<IngestClient> {
    const credentials = own
      ? grpc.credentials.createSsl(ca, await readFile(own.key), await readFile(own.cert))
      : grpc.credentials.createSsl(ca);
    const c = new proto.vigil.v1.Ingest(`localhost:${port}`, credentials);
    cleanup.push(() => c.close());
    return c;
  }

  it('a grpc-js client with createSsl(ca) streams points and gets every ack', async () => {
    const { server } = await tlsServer();
    const outcome = await streamPoints(await client(server.port), 'grpc-tls-1', 3);
    assert.equal(outcome.status.code, grpc.status.OK, outcome.status.details);
    assert.deepEqual(
      outcome.acks.map((a) => [a.seq_id, a.status]),
      [1, 2, 3].map((s) => [String(s), 'STATUS_CODE_OK']),
    );
    // A plaintext client gets nowhere on the TLS port.
    const plain = new proto.vigil.v1.Ingest(
      `localhost:${server.port}`,
      grpc.credentials.createInsecure(),
    );
    cleanup.push(() => plain.close());
    const refused = await streamPoints(plain, 'grpc-plain', 1);
    assert.equal(refused.status.code, grpc.status.UNAVAILABLE);
    assert.deepEqual(refused.acks, []);
  });

  it('client CA: the CA’s client certificate streams; none or another CA’s is refused', async () => {
    const { server } = await tlsServer(pki.ca);
    const good = await streamPoints(await client(server.port, pki.client), 'grpc-tls-2', 2);
    assert.equal(good.status.code, grpc.status.OK, good.status.details);
    assert.equal(good.acks.length, 2);

    for (const own of [undefined, pki.rogueClient]) {
      const refused = await streamPoints(await client(server.port, own), 'grpc-refused', 1);
      assert.equal(refused.status.code, grpc.status.UNAVAILABLE, refused.status.details);
      assert.deepEqual(refused.acks, []);
    }
  });

  it('reload: new connections get a replaced pair without a restart; a broken pair is refused', async () => {
    const { live, tls, server } = await tlsServer();
    const h2 = { ca, ALPNProtocols: ['h2'] };
    // Right after start: the first set is served from the first connection on.
    assert.equal(await servedSerial(server.port, h2), '1001');

    const changed = new Promise((resolve) => tls.onChange(resolve));
    await installPair(live, pki.server2);
    await changed;
    assert.equal(await servedSerial(server.port, h2), '1002');
    const outcome = await streamPoints(await client(server.port), 'grpc-tls-3', 1);
    assert.equal(outcome.status.code, grpc.status.OK, outcome.status.details);

    await installPair(live, { cert: pki.server.cert, key: pki.server2.key });
    assert.equal(await tls.reload(), false);
    assert.equal(await servedSerial(server.port, h2), '1002');
  });

  it('reload of the client CA: clients of the new CA stream, those of the old one are refused', async () => {
    const caDir = path.join(dir, `client-ca-${n++}`);
    await mkdir(caDir);
    const clientCa = path.join(caDir, 'clients-ca.crt');
    await copyFile(pki.ca, clientCa);
    const { tls, server } = await tlsServer(clientCa);
    const outcome = async (own: Pair) =>
      (await streamPoints(await client(server.port, own), 'grpc-ca-reload', 1)).status.code;
    assert.equal(await outcome(pki.client), grpc.status.OK);
    assert.equal(await outcome(pki.rogueClient), grpc.status.UNAVAILABLE);

    const changed = new Promise((resolve) => tls.onChange(resolve));
    await copyFile(pki.otherCa, `${clientCa}.new`);
    await rename(`${clientCa}.new`, clientCa);
    await changed;
    assert.equal(await outcome(pki.rogueClient), grpc.status.OK);
    assert.equal(await outcome(pki.client), grpc.status.UNAVAILABLE);
  });
});
