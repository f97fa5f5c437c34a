/**
 * `vigil serve` with --tls-cert/--tls-key as a child process: the start line says https://, curl
 * and a grpc-js client are served over TLS with certificates made by openssl, /metrics shows the
 * certificate's expiry; a key that is not the certificate's own stops it before it starts.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { IngestAck__Output } from '../ingest/grpc/generated/vigil/v1/IngestAck.js';
import { makeTestPki } from '../tls/testing/certs.js';
import { curl } from '../tls/testing/clients.js';
import { loadVigilProto } from '../ingest/grpc/proto.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

test('vigil serve --tls-cert/--tls-key: HTTPS and gRPC over TLS, expiry on /metrics', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-tls-'));
  const pki = await makeTestPki(dir);
  const child = spawn(
    process.execPath,
    [
      ...[MAIN, 'serve', '--port', '0', '--grpc-port', '0', '--no-demo'],
      ...['--data-dir', path.join(dir, 'data'), '--tls-cert', pki.server.cert],
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VIGIL_TLS_KEY: pki.server.key },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  try {
    let where: { http?: string; grpc?: string } = {};
    for await (const line of createInterface({ input: child.stdout })) {
      const entry = JSON.parse(line) as { msg?: string; http?: string; grpc?: string };
      if (entry.msg === 'vigil serving') {
        where = entry;
        break;
      }
    }
    assert.match(where.http ?? '', /^https:\/\/127\.0\.0\.1:\d+$/, stderr);
    const ready = await curl([
      '--cacert',
      pki.ca,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${where.http}/readyz`,
    ]);
    assert.deepEqual([ready.exitCode, ready.stdout], [0, '200'], ready.stderr);
    const metrics = await curl(['--cacert', pki.ca, `${where.http}/metrics`]);
    const expiry = /^vigil_tls_certificate_expiry_seconds (\d+)$/m.exec(metrics.stdout);
    assert.ok(expiry, 'expiry gauge exposed');
    assert.ok(Number(expiry[1]) * 1000 > Date.now() + 29 * 86_400_000);

    const proto = loadVigilProto();
    const port = (where.grpc ?? '').split(':')[1];
    const client = new proto.vigil.v1.Ingest(
      `localhost:${port}`,
      grpc.credentials.createSsl(await readFile(pki.ca)),
    );
    try {
      const call = client.Stream({ deadline: Date.now() + 30_000 });
      const acks: IngestAck__Output[] = [];
      call.on('data', (ack: IngestAck__Output) => acks.push(ack));
      call.on('error', () => undefined);
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      const t0 = Date.UTC(2026, 2, 1);
      call.write({ point: { seq_id: 7, timestamp: t0, device_id: 'tls-e2e', metrics: { v: 1 } } });
      call.end();
      assert.equal((await status).code, grpc.status.OK);
      assert.deepEqual(
        acks.map((a) => [a.seq_id, a.status]),
        [['7', 'STATUS_CODE_OK']],
      );
    } finally {
      client.close();
    }

    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('vigil serve with a key that is not the certificate’s own exits 2 before starting', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-tls-bad-'));
  try {
    const pki = await makeTestPki(dir);
    const child = spawn(
      process.execPath,
      [
        ...[MAIN, 'serve', '--port', '0', '--grpc-port', '0', '--no-demo'],
        ...['--data-dir', path.join(dir, 'data')],
        ...['--tls-cert', pki.server.cert, '--tls-key', pki.server2.key],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2, stderr);
    assert.equal(
      stderr,
      `vigil: VIGIL_ERR_CONFIG: --tls-key: ${JSON.stringify(pki.server2.key)}: private key does not match the certificate of --tls-cert: ${JSON.stringify(pki.server.cert)}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
