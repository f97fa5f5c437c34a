/**
 * The configured tokens, held only as SHA-256 digests. A plain digest (no salt, no slow hash) is
 * enough because tokens are long random secrets, not passwords: no dictionary reaches them, and a
 * digest lookup keeps the check constant-time in the secret at ingest rates.
 */
import { createHash } from 'node:crypto';
import type { Authenticator, Principal, Rates, Scope } from './scope.js';

/** One token as configured: its name, the digest of its secret and what it may do. */
export interface TokenEntry {
  readonly name: string;
  /** Lower-case hex SHA-256 of the secret's UTF-8 bytes. */
  readonly sha256: string;
  readonly scopes: readonly Scope[];
  readonly rates?: Rates;
}

/** The digest a token's secret is stored and looked up by. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export class TokenSet implements Authenticator {
  readonly enabled: boolean;
  readonly #byDigest = new Map<string, Principal>();

  constructor(entries: readonly TokenEntry[]) {
    for (const e of entries) {
      const principal: Principal = {
        name: e.name,
        scopes: new Set(e.scopes),
        ...(e.rates === undefined ? {} : { rates: e.rates }),
      };
      this.#byDigest.set(e.sha256.toLowerCase(), principal);
    }
    this.enabled = this.#byDigest.size > 0;
  }

  authenticate(secret: string): Principal | undefined {
    if (secret === '') return undefined;
    return this.#byDigest.get(hashSecret(secret));
  }
}
