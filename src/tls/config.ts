/**
 * The TLS settings of `vigil serve` (docs/operations.md, "TLS"): the config file's `tls` section
 * and which certificate, key and client CA files to serve, flag over environment over file.
 * A certificate without its key, the reverse, or a client CA without either is a config problem.
 */
import { z } from 'zod';
import type { TlsFile, TlsFiles } from './material.js';

const file = z.string().min(1);

export const tlsSchema = z.object({ cert: file, key: file, client_ca: file }).partial().strict();

export type TlsConfig = z.infer<typeof tlsSchema>;

export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

const names = {
  cert: ['--tls-cert', 'VIGIL_TLS_CERT', 'tls.cert'],
  key: ['--tls-key', 'VIGIL_TLS_KEY', 'tls.key'],
  clientCa: ['--tls-client-ca', 'VIGIL_TLS_CLIENT_CA', 'tls.client_ca'],
} as const;

function choose(
  flag: string | undefined,
  [flagName, envName, key]: readonly [string, string, string],
  env: NodeJS.ProcessEnv,
  fromFile: string | undefined,
): TlsFile | undefined {
  if (flag !== undefined) return { path: flag, source: flagName };
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, source: envName };
  return fromFile === undefined ? undefined : { path: fromFile, source: key };
}

/** The TLS files to serve, or undefined for plaintext; problems are appended to `problems`. */
export function resolveTlsFiles(
  flags: TlsFlags,
  env: NodeJS.ProcessEnv,
  config: TlsConfig | undefined,
  problems: string[],
): TlsFiles | undefined {
  const cert = choose(flags.tlsCert, names.cert, env, config?.cert);
  const key = choose(flags.tlsKey, names.key, env, config?.key);
  const clientCa = choose(flags.tlsClientCa, names.clientCa, env, config?.client_ca);
  if (cert && !key) {
    problems.push(
      `${cert.source}: a certificate needs its private key: set ${names.key.join(', ')}`,
    );
  }
  if (key && !cert) {
    problems.push(
      `${key.source}: a private key needs its certificate: set ${names.cert.join(', ')}`,
    );
  }
  if (clientCa && !cert && !key) {
    problems.push(
      `${clientCa.source}: client certificates need TLS: set ${names.cert[0]} and ${names.key[0]}`,
    );
  }
  if (!cert || !key) return undefined;
  return { cert, key, ...(clientCa && { clientCa }) };
}
