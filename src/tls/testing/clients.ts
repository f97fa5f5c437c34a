/**
 * For the TLS tests: the real curl binary, a Node TLS connection that reports the certificate
 * served, and swapping the served files at once, the way Kubernetes updates a secret volume.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, lstat, mkdir, rename, symlink } from 'node:fs/promises';
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

/**
 * The live files `dir/tls.crt` and `dir/tls.key` now hold `pair`'s: the way Kubernetes updates
 * a secret volume, both change at once by renaming one symlink (`..data`) to a new directory.
 */
export async function installPair(dir: string, pair: Pair): Promise<{ cert: string; key: string }> {
  const version = `..v${++installs}`;
  await mkdir(path.join(dir, version));
  await copyFile(pair.cert, path.join(dir, version, 'tls.crt'));
  await copyFile(pair.key, path.join(dir, version, 'tls.key'));
  await symlink(version, path.join(dir, '..data.new'));
  await rename(path.join(dir, '..data.new'), path.join(dir, '..data'));
  const live = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
  for (const [file, name] of [
    [live.cert, 'tls.crt'],
    [live.key, 'tls.key'],
  ] as const) {
    if (!(await lstat(file).catch(() => undefined))) await symlink(path.join('..data', name), file);
  }
  return live;
}

let installs = 0;
