import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VigilError } from '../errors.js';
import { expiryWarning, loadTlsMaterial, type TlsFiles } from './material.js';
import { makeTestPki, type TestPki } from './testing/certs.js';

const flag = (p: string, source: string) => ({ path: p, source });

describe('TLS files', () => {
  let dir: string;
  let pki: TestPki;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-tls-'));
    pki = await makeTestPki(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const files = (cert: string, key: string, clientCa?: string): TlsFiles => ({
    cert: flag(cert, '--tls-cert'),
    key: flag(key, '--tls-key'),
    ...(clientCa === undefined ? {} : { clientCa: flag(clientCa, '--tls-client-ca') }),
  });

  async function problems(f: TlsFiles): Promise<string> {
    const err = await loadTlsMaterial(f).then(
      () => assert.fail('loaded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VigilError);
    assert.equal(err.code, 'VIGIL_ERR_CONFIG');
    return err.message;
  }

  it('loads a matching pair and the client CA, naming subject, serial and expiry', async () => {
    const m = await loadTlsMaterial(files(pki.server.cert, pki.server.key, pki.ca));
    assert.equal(m.subject, 'CN=vigil-server-1');
    assert.equal(m.serial, '1001');
    assert.ok(m.notAfter.getTime() > Date.now() + 29 * 86_400_000);
    assert.ok(m.ca?.toString().includes('BEGIN CERTIFICATE'));
    assert.equal(expiryWarning(m), undefined);
  });

  it('a missing and an unreadable file are both reported, naming setting and path', async () => {
    const missing = path.join(dir, 'missing.crt');
    assert.equal(
      await problems(files(missing, dir)),
      [
        `--tls-cert: ${JSON.stringify(missing)}: cannot read (ENOENT)`,
        `--tls-key: ${JSON.stringify(dir)}: cannot read (EISDIR)`,
      ].join('\n'),
    );
  });

  it('files that are not PEM are refused', async () => {
    const junk = path.join(dir, 'junk.txt');
    await writeFile(junk, 'not a certificate\n');
    assert.equal(
      await problems(files(junk, junk, junk)),
      [
        `--tls-cert: ${JSON.stringify(junk)}: not a PEM certificate (no "BEGIN CERTIFICATE" block)`,
        `--tls-key: ${JSON.stringify(junk)}: not a PEM private key (no "BEGIN PRIVATE KEY" block)`,
        `--tls-client-ca: ${JSON.stringify(junk)}: not a PEM certificate (no "BEGIN CERTIFICATE" block)`,
      ].join('\n'),
    );
  });

  it('a key that is not the certificate’s own is refused', async () => {
    assert.equal(
      await problems(files(pki.server.cert, pki.server2.key)),
      `--tls-key: ${JSON.stringify(pki.server2.key)}: private key does not match the certificate of --tls-cert: ${JSON.stringify(pki.server.cert)}`,
    );
  });

  it('a damaged certificate block is refused', async () => {
    const broken = path.join(dir, 'broken.crt');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    assert.match(
      await problems(files(broken, pki.server.key)),
      /^--tls-cert: ".*broken\.crt": certificate 1 does not parse \(.+\)$/,
    );
  });

  it('an expired certificate loads (it is the operator’s call) with a warning', async () => {
    const m = await loadTlsMaterial(files(pki.expired.cert, pki.expired.key));
    assert.equal(m.notAfter.toISOString(), '2020-01-02T00:00:00.000Z');
    assert.equal(
      expiryWarning(m),
      'TLS certificate CN=vigil-expired (serial 2001) expired at 2020-01-02T00:00:00.000Z: clients will refuse it',
    );
  });
});
