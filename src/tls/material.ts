/**
 * A certificate, its private key and the optional client CA, read from PEM files and checked
 * before they are served: each file readable and PEM, every certificate parseable, the key the
 * certificate's own. Every problem is one line of a single VIGIL_ERR_CONFIG naming the setting
 * (flag, variable or config key) and the file (docs/operations.md, "TLS").
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { quoteInput } from '../data/quote.js';
import { VigilError } from '../errors.js';

/** A file named by a setting; `source` is how messages name it (`--tls-cert`, `tls.cert`, …). */
export interface TlsFile {
  readonly path: string;
  readonly source: string;
}

/** Where the server's certificate, key and (for client-certificate auth) CA come from. */
export interface TlsFiles {
  readonly cert: TlsFile;
  readonly key: TlsFile;
  /** Clients must present a certificate signed by this CA (bundle) when set. */
  readonly clientCa?: TlsFile;
}

/** One checked set, as `tls.createSecureContext` takes it, and what logs and metrics show. */
export interface TlsMaterial {
  /** Certificate chain, leaf first (PEM). */
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  /** The leaf certificate's subject (`CN=…`, one line), serial (hex) and end of validity. */
  readonly subject: string;
  readonly serial: string;
  readonly notAfter: Date;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

const reason = (err: unknown): string => {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
};

function where(file: TlsFile): string {
  return `${file.source}: ${quoteInput(file.path)}`;
}

async function read(file: TlsFile, problems: string[]): Promise<Buffer | undefined> {
  try {
    return await readFile(file.path);
  } catch (err) {
    problems.push(`${where(file)}: cannot read (${reason(err)})`);
    return undefined;
  }
}

/** The file's certificates, first one first; a problem when none or one does not parse. */
function certificates(file: TlsFile, pem: Buffer, problems: string[]): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERT) ?? [];
  if (blocks.length === 0) {
    problems.push(`${where(file)}: not a PEM certificate (no "BEGIN CERTIFICATE" block)`);
    return [];
  }
  const parsed: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      parsed.push(new X509Certificate(block));
    } catch (err) {
      problems.push(`${where(file)}: certificate ${i + 1} does not parse (${reason(err)})`);
    }
  }
  return parsed.length === blocks.length ? parsed : [];
}

function privateKey(file: TlsFile, pem: Buffer, problems: string[]): KeyObject | undefined {
  if (!PEM_KEY.test(pem.toString('utf8'))) {
    problems.push(`${where(file)}: not a PEM private key (no "BEGIN PRIVATE KEY" block)`);
    return undefined;
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const encrypted = pem.includes('ENCRYPTED');
    const why = encrypted ? 'encrypted keys are not supported' : reason(err);
    problems.push(`${where(file)}: private key does not parse (${why})`);
    return undefined;
  }
}

/** One-line subject (`CN=a, O=b`) of a certificate; Node gives it one attribute a line. */
export function subjectOf(certificate: X509Certificate): string {
  return certificate.subject.split('\n').join(', ');
}

/** Read and check the files; throws VIGIL_ERR_CONFIG listing every problem found. */
export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const problems: string[] = [];
  const [certPem, keyPem, caPem] = await Promise.all([
    read(files.cert, problems),
    read(files.key, problems),
    files.clientCa && read(files.clientCa, problems),
  ]);
  const leaf = certPem && certificates(files.cert, certPem, problems)[0];
  const key = keyPem && privateKey(files.key, keyPem, problems);
  if (files.clientCa && caPem) certificates(files.clientCa, caPem, problems);
  if (leaf && key && !leaf.checkPrivateKey(key)) {
    problems.push(
      `${where(files.key)}: private key does not match the certificate of ${where(files.cert)}`,
    );
  }
  if (problems.length > 0 || !certPem || !keyPem || !leaf) {
    throw new VigilError('VIGIL_ERR_CONFIG', problems.join('\n'));
  }
  return {
    cert: certPem,
    key: keyPem,
    ...(caPem && { ca: caPem }),
    subject: subjectOf(leaf),
    serial: leaf.serialNumber,
    notAfter: new Date(leaf.validTo),
  };
}

/** A warning to log when the certificate is out of date at `now`, else undefined. */
export function expiryWarning(material: TlsMaterial, now: Date = new Date()): string | undefined {
  if (material.notAfter.getTime() > now.getTime()) return undefined;
  return `TLS certificate ${material.subject} (serial ${material.serial}) expired at ${material.notAfter.toISOString()}: clients will refuse it`;
}
