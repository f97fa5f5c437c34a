import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveSettings } from '../cli/serve-settings.js';
import { VigilError } from '../errors.js';
import { resolveTlsFiles } from './config.js';

describe('TLS settings', () => {
  it('flag over environment over config file, each file named by where it came from', () => {
    const problems: string[] = [];
    const files = resolveTlsFiles(
      { tlsCert: 'flag.crt' },
      { VIGIL_TLS_CERT: 'env.crt', VIGIL_TLS_KEY: 'env.key' },
      { cert: 'file.crt', key: 'file.key', client_ca: 'file-ca.crt' },
      problems,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(files, {
      cert: { path: 'flag.crt', source: '--tls-cert' },
      key: { path: 'env.key', source: 'VIGIL_TLS_KEY' },
      clientCa: { path: 'file-ca.crt', source: 'tls.client_ca' },
    });
  });

  it('no TLS settings: plaintext', () => {
    const problems: string[] = [];
    assert.equal(resolveTlsFiles({}, {}, undefined, problems), undefined);
    assert.deepEqual(problems, []);
  });

  it('a certificate without its key, a key without its certificate, a lone client CA', () => {
    const cases: [Parameters<typeof resolveTlsFiles>, string][] = [
      [
        [{ tlsCert: 'a.crt' }, {}, undefined, []],
        '--tls-cert: a certificate needs its private key: set --tls-key, VIGIL_TLS_KEY, tls.key',
      ],
      [
        [{}, { VIGIL_TLS_KEY: 'a.key' }, undefined, []],
        'VIGIL_TLS_KEY: a private key needs its certificate: set --tls-cert, VIGIL_TLS_CERT, tls.cert',
      ],
      [
        [{}, {}, { client_ca: 'ca.crt' }, []],
        'tls.client_ca: client certificates need TLS: set --tls-cert and --tls-key',
      ],
    ];
    for (const [[flags, env, config, problems], expected] of cases) {
      assert.equal(resolveTlsFiles(flags, env, config, problems), undefined);
      assert.deepEqual(problems, [expected]);
    }
  });

  it('vigil serve settings: the tls section is read and its problems join the others', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-tls-config-'));
    try {
      const file = path.join(dir, 'vigil.yaml');
      await writeFile(file, 'tls:\n  cert: /etc/vigil/tls.crt\n  key: /etc/vigil/tls.key\n');
      const settings = await resolveSettings({ config: file, demo: true }, false, {});
      assert.deepEqual(settings.tls, {
        cert: { path: '/etc/vigil/tls.crt', source: 'tls.cert' },
        key: { path: '/etc/vigil/tls.key', source: 'tls.key' },
      });
      const plain = await resolveSettings({ demo: true }, false, {});
      assert.equal(plain.tls, undefined);

      const err = await resolveSettings({ port: 'x', tlsKey: 'k.pem', demo: true }, false, {}).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof VigilError && err.code === 'VIGIL_ERR_CONFIG');
      assert.equal(
        err.message,
        [
          '--port: expected a port number 0–65535, found "x"',
          '--tls-key: a private key needs its certificate: set --tls-cert, VIGIL_TLS_CERT, tls.cert',
        ].join('\n'),
      );

      await writeFile(file, 'tls:\n  cert: a.crt\n  pem: b.pem\n');
      await assert.rejects(resolveSettings({ config: file, demo: true }, false, {}), {
        message: `${file}: tls: unknown key "pem"`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
