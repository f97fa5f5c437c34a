/**
 * For the TLS tests: the real curl binary, a Node TLS connection that reports the certificate
 * served, and swapping the served files the way a certificate manager does (write, then rename).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, rename } from 'node:fs/promises';
import path from 'node:path';
import * as tls from 'node:tls';
import type { Pair } from './certs.js';

export interface CurlResult {
  /** curl's exit code: 0 on success (see `man curl`, "EXIT CODES"). */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) => {
      const code = err === null ? 0 : (err as { code?: unknown }).code;
      resolve({ exitCode: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

/** The serial number (hex) of the certificate a new TLS connection to `port` is served. */
export async function servedSerial(
  port: number,
  options: tls.ConnectionOptions = {},
): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerCertificate().serialNumber;
  } finally {
    socket.destroy();
  }
}

/** The live files `dir/tls.crt` and `dir/tls.key`, replaced by `pair`'s each by a rename. */
export async function installPair(dir: string, pair: Pair): Promise<{ cert: string; key: string }> {
  const live = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
  await copyFile(pair.cert, `${live.cert}.new`);
  await copyFile(pair.key, `${live.key}.new`);
  await rename(`${live.cert}.new`, live.cert);
  await rename(`${live.key}.new`, live.key);
  return live;
}
