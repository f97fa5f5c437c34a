/**
 * Certificates for the TLS tests, made by the `openssl` binary into a directory: a CA, server
 * certificates for 127.0.0.1/localhost (two, with distinct serials and subjects, for reloads),
 * a client certificate from that CA, one from another CA, and an expired server certificate.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pair {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly ca: string;
  /** CN=vigil-server-1, serial 1001 (hex). */
  readonly server: Pair;
  /** CN=vigil-server-2, serial 1002 (hex). */
  readonly server2: Pair;
  readonly client: Pair;
  /** Another CA, and a client certificate it signed. */
  readonly otherCa: string;
  readonly rogueClient: Pair;
  /** CN=vigil-expired, valid on 1 January 2020 only. */
  readonly expired: Pair;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function makeCa(dir: string, name: string, subject: string): Promise<Pair> {
  const pair = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await openssl(
    dir,
    ...['req', '-x509', ...newKey, '-keyout', pair.key, '-out', pair.cert],
    ...['-subj', subject, '-days', '30'],
  );
  return pair;
}

async function signed(
  dir: string,
  ca: Pair,
  name: string,
  subject: string,
  serial: string,
  extensions: string,
): Promise<Pair> {
  const pair = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl(dir, 'req', ...newKey, '-keyout', pair.key, '-out', csr, '-subj', subject);
  await openssl(
    dir,
    ...['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key],
    ...['-set_serial', `0x${serial}`, '-days', '30', '-extfile', ext, '-out', pair.cert],
  );
  return pair;
}

/** An expired certificate needs `openssl ca` (only it takes an explicit validity period). */
async function expiredCert(dir: string, ca: Pair): Promise<Pair> {
  const pair = { cert: path.join(dir, 'expired.crt'), key: path.join(dir, 'expired.key') };
  const csr = path.join(dir, 'expired.csr');
  await openssl(
    dir,
    'req',
    ...newKey,
    '-keyout',
    pair.key,
    '-out',
    csr,
    '-subj',
    '/CN=vigil-expired',
  );
  await writeFile(path.join(dir, 'index.txt'), '');
  await writeFile(path.join(dir, 'serial'), '2001\n');
  const config = path.join(dir, 'ca.cnf');
  await writeFile(
    config,
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = any',
      '[any]',
      'commonName = supplied',
    ].join('\n'),
  );
  await openssl(
    dir,
    ...['ca', '-batch', '-config', config, '-cert', ca.cert, '-keyfile', ca.key, '-in', csr],
    ...['-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext'],
    ...['-out', pair.cert],
  );
  return pair;
}

const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
const clientExt = 'extendedKeyUsage=clientAuth\n';

/** Everything the TLS tests need, in `dir` (which must exist). */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const ca = await makeCa(dir, 'ca', '/CN=Vigil Test CA');
  const otherCa = await makeCa(dir, 'other-ca', '/CN=Other CA');
  return {
    ca: ca.cert,
    server: await signed(dir, ca, 'server', '/CN=vigil-server-1', '1001', serverExt),
    server2: await signed(dir, ca, 'server2', '/CN=vigil-server-2', '1002', serverExt),
    client: await signed(dir, ca, 'client', '/CN=vigil-client', '3001', clientExt),
    otherCa: otherCa.cert,
    rogueClient: await signed(dir, otherCa, 'rogue', '/CN=rogue-client', '4001', clientExt),
    expired: await expiredCert(dir, ca),
  };
}
