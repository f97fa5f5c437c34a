/**
 * `vigil token create` and `vigil token hash` (docs/security.md): a new API token's secret is
 * generated here, its digest appended to the tokens file (created with mode 0600), and the
 * secret printed once; it is stored nowhere. A running `vigil serve` reloads the file.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { Document, isSeq, parseDocument } from 'yaml';
import { scopes, type Scope } from '../auth/scope.js';
import { hashSecret } from '../auth/token-set.js';
import { parseTokensFile, tokenEntrySchema, type TokenFileEntry } from '../auth/tokens-file.js';
import { VigilError } from '../errors.js';

/** Secrets start with this, so a leaked one is recognisable (secret scanners, logs). */
export const SECRET_PREFIX = 'vgl_';

/** A new secret: 32 random bytes, base64url, prefixed. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

export interface CreateTokenOptions {
  readonly file: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly pointsPerS?: number;
  readonly requestsPerS?: number;
}

function usage(message: string): VigilError {
  return new VigilError('VIGIL_ERR_USAGE', message);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new VigilError('VIGIL_ERR_CONFIG', `${file}: cannot read (${String(err)})`);
  }
}

/**
 * Appends a token to `file` (keeping its comments), creating the file with mode 0600, and
 * returns the secret. The file is replaced by a rename, so a watching server never reads half.
 */
export async function createToken(options: CreateTokenOptions): Promise<string> {
  const { file, name } = options;
  const secret = newSecret();
  const entry: TokenFileEntry = {
    name,
    sha256: hashSecret(secret),
    scopes: [...options.scopes],
    ...(options.pointsPerS === undefined ? {} : { points_per_s: options.pointsPerS }),
    ...(options.requestsPerS === undefined ? {} : { requests_per_s: options.requestsPerS }),
  };
  const checked = tokenEntrySchema.safeParse(entry);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw usage(`--${issue.path.join('.').replace(/_/g, '-')}: ${issue.message}`);
  }
  const text = await readIfExists(file);
  if (text !== undefined && parseTokensFile(text, file).some((t) => t.name === name)) {
    throw usage(`${file} already has a token named ${JSON.stringify(name)}: choose another name`);
  }
  // A file that parsed has a `tokens` list: append to it, keeping the operator's comments.
  const doc = text === undefined ? new Document({ tokens: [] }) : parseDocument(text);
  const tokens = doc.get('tokens');
  if (!isSeq(tokens)) throw new Error(`${file}: tokens is not a list after validation`);
  tokens.flow = false;
  tokens.add(doc.createNode(entry));
  const mode = text === undefined ? 0o600 : (await stat(file)).mode & 0o777;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temp, doc.toString(), { mode, flag: 'wx' });
  await rename(temp, file);
  return secret;
}

function parseScopes(text: string): Scope[] {
  const known: readonly string[] = scopes;
  const listed = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = listed.filter((s) => !known.includes(s));
  if (listed.length === 0 || unknown.length > 0) {
    throw usage(
      `--scopes: expected a comma-separated list of ${scopes.join(', ')}, found ${JSON.stringify(text)}`,
    );
  }
  return [...new Set(listed)] as Scope[];
}

function parseRate(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n))
    throw usage(`${flag}: expected a number > 0, found ${JSON.stringify(text)}`);
  return n;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `vigil token …`. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens (docs/security.md)');
  token
    .command('create')
    .description('add a token to the tokens file and print its secret, once')
    .requiredOption('--name <name>', "the token's name, shown in logs and 403 answers")
    .requiredOption('--scopes <list>', `comma-separated: ${scopes.join(', ')}`)
    .option('--file <file>', 'tokens file (env VIGIL_AUTH_TOKENS; default tokens.yaml)')
    .option('--points-per-s <n>', "this token's ingest rate limit, points per second")
    .option('--requests-per-s <n>', "this token's request rate limit, requests per second")
    .action(
      async (options: {
        name: string;
        scopes: string;
        file?: string;
        pointsPerS?: string;
        requestsPerS?: string;
      }) => {
        const file = options.file ?? (process.env.VIGIL_AUTH_TOKENS || 'tokens.yaml');
        const pointsPerS = parseRate('--points-per-s', options.pointsPerS);
        const requestsPerS = parseRate('--requests-per-s', options.requestsPerS);
        const secret = await createToken({
          file,
          name: options.name,
          scopes: parseScopes(options.scopes),
          ...(pointsPerS === undefined ? {} : { pointsPerS }),
          ...(requestsPerS === undefined ? {} : { requestsPerS }),
        });
        process.stderr.write(
          `token ${JSON.stringify(options.name)} added to ${file}; its secret, shown only now:\n`,
        );
        process.stdout.write(`${secret}\n`);
      },
    );
  token
    .command('hash')
    .description('print the sha256 of a secret read from standard input (for the tokens file)')
    .action(async () => {
      const secret = (await readStdin()).replace(/\r?\n$/, '');
      if (secret === '') throw usage('token hash: no secret on standard input');
      process.stdout.write(`${hashSecret(secret)}\n`);
    });
}
