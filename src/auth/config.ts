/**
 * The `auth` section of `vigil serve`'s config file and the exposure rule (docs/security.md):
 * without a tokens file the service binds only a loopback address, unless `--insecure` says the
 * network in front of it is trusted.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export const authSchema = z
  .object({ tokens_file: z.string().min(1) })
  .partial()
  .strict();

export type AuthConfig = z.infer<typeof authSchema>;

/** Whether `host` only accepts connections from this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^::ffff:127\./.test(h);
}

/** The problem with serving `host` without tokens, or undefined when it may. */
export function exposureProblem(
  host: string,
  tokensFile: string | undefined,
  insecure: boolean,
): string | undefined {
  if (tokensFile !== undefined || insecure || isLoopback(host)) return undefined;
  return (
    `--host ${host}: refusing to serve a non-loopback address without authentication; ` +
    'give a tokens file (--auth-tokens FILE, env VIGIL_AUTH_TOKENS or auth.tokens_file; ' +
    'create one with `vigil token create`), or --insecure (env VIGIL_INSECURE=true) if the ' +
    'network in front of Vigil is trusted'
  );
}
