/**
 * The tokens file (`auth.tokens_file`, `--auth-tokens`, docs/security.md): YAML naming each API
 * token, the SHA-256 digest of its secret (the secret itself is never stored), its scopes and
 * optional rate limits. Parsed with one VIGIL_ERR_CONFIG line per problem, naming the file, the
 * entry and the key.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VigilError } from '../errors.js';
import { scopes } from './scope.js';
import type { TokenEntry } from './token-set.js';

const SHA256_EXPECTED = 'expected the hex SHA-256 of the secret (64 hex digits)';

const rate = z.number().positive('expected a rate > 0').finite('expected a finite rate');

export const tokenEntrySchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1–64 letters, digits, ".", "_", "-"'),
    sha256: z.string({ error: SHA256_EXPECTED }).regex(/^[0-9a-fA-F]{64}$/, SHA256_EXPECTED),
    scopes: z
      .array(
        z.enum(scopes, {
          error: (issue) => `expected ingest, read or admin, found ${JSON.stringify(issue.input)}`,
        }),
      )
      .min(1, 'expected at least one of ingest, read, admin'),
    points_per_s: rate.optional(),
    requests_per_s: rate.optional(),
  })
  .strict();

export const tokensFileSchema = z.object({ tokens: z.array(tokenEntrySchema) }).strict();

export type TokenFileEntry = z.infer<typeof tokenEntrySchema>;

/** The error for a tokens file, one problem per line. */
function tokensError(problems: readonly string[]): VigilError {
  return new VigilError('VIGIL_ERR_CONFIG', problems.join('\n'));
}

/** `tokens[2] "grafana"`: how a problem names its entry. */
function entryName(document: unknown, index: number): string {
  const tokens = (document as { tokens?: unknown } | null)?.tokens;
  const entry = Array.isArray(tokens) ? (tokens[index] as { name?: unknown } | null) : undefined;
  const name = entry?.name;
  return typeof name === 'string' ? `tokens[${index}] ${JSON.stringify(name)}` : `tokens[${index}]`;
}

function issueLine(file: string, document: unknown, issue: z.ZodIssue): string {
  const [top, index, ...rest] = issue.path;
  const where =
    top === 'tokens' && typeof index === 'number'
      ? [entryName(document, index), ...rest].join(': ')
      : issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
    const hint = issue.keys.includes('secret')
      ? ": store only the secret's sha256 (`vigil token hash`), never the secret"
      : '';
    return `${file}: ${where === '(top level)' ? '' : `${where}: `}unknown key ${keys}${hint}`;
  }
  return `${file}: ${where}: ${issue.message}`;
}

/** The token entries of a tokens file's text; throws VIGIL_ERR_CONFIG listing every problem. */
export function parseTokensFile(text: string, file: string): TokenEntry[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw tokensError([`${file}: not YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
  if (document === null || document === undefined) {
    throw tokensError([`${file}: empty; expected a \`tokens:\` list (\`tokens: []\` for none)`]);
  }
  const result = tokensFileSchema.safeParse(document);
  if (!result.success) {
    throw tokensError(result.error.issues.map((issue) => issueLine(file, document, issue)));
  }
  const problems: string[] = [];
  const byName = new Map<string, number>();
  const byDigest = new Map<string, number>();
  const entries = result.data.tokens.map((t, i): TokenEntry => {
    const digest = t.sha256.toLowerCase();
    const sameName = byName.get(t.name);
    if (sameName !== undefined) {
      problems.push(`${file}: ${entryName(document, i)}: name already used by tokens[${sameName}]`);
    }
    const sameDigest = byDigest.get(digest);
    if (sameDigest !== undefined) {
      problems.push(
        `${file}: ${entryName(document, i)}: sha256 already used by ${entryName(document, sameDigest)}: each token needs its own secret`,
      );
    }
    byName.set(t.name, i);
    byDigest.set(digest, i);
    const rates = {
      ...(t.points_per_s === undefined ? {} : { pointsPerS: t.points_per_s }),
      ...(t.requests_per_s === undefined ? {} : { requestsPerS: t.requests_per_s }),
    };
    return {
      name: t.name,
      sha256: digest,
      scopes: t.scopes,
      ...(Object.keys(rates).length === 0 ? {} : { rates }),
    };
  });
  if (problems.length > 0) throw tokensError(problems);
  return entries;
}

/** A tokens file's text; an unreadable file is VIGIL_ERR_CONFIG. */
export async function readTokensText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw tokensError([
      `${file}: cannot read (${err instanceof Error ? err.message : String(err)})`,
    ]);
  }
}

/** Reads and parses a tokens file. */
export async function readTokensFile(file: string): Promise<TokenEntry[]> {
  return parseTokensFile(await readTokensText(file), file);
}
