import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { hashSecret } from './token-set.js';
import { parseTokensFile } from './tokens-file.js';
import { WatchedTokens } from './tokens-watch.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const run = promisify(execFile);
const A = hashSecret('secret-a');
const B = hashSecret('secret-b');

function configError(text: string): string {
  try {
    parseTokensFile(text, 'tokens.yaml');
  } catch (err) {
    assert.ok(err instanceof VigilError);
    assert.equal(err.code, 'VIGIL_ERR_CONFIG');
    return err.message;
  }
  assert.fail('expected VIGIL_ERR_CONFIG');
}

describe('the tokens file', () => {
  test('a valid file: names, lower-case digests, scopes, rates', () => {
    const entries = parseTokensFile(
      [
        'tokens:',
        '  - name: prometheus',
        `    sha256: ${A.toUpperCase()}`,
        '    scopes: [ingest]',
        '    points_per_s: 50000',
        '    requests_per_s: 200',
        `  - { name: ops, sha256: ${B}, scopes: [admin, read] }`,
      ].join('\n'),
      'tokens.yaml',
    );
    assert.deepEqual(entries, [
      {
        name: 'prometheus',
        sha256: A,
        scopes: ['ingest'],
        rates: { pointsPerS: 50000, requestsPerS: 200 },
      },
      { name: 'ops', sha256: B, scopes: ['admin', 'read'] },
    ]);
    assert.deepEqual(parseTokensFile('tokens: []\n', 'tokens.yaml'), []);
  });

  test('invalid files: one line per problem, naming the file, the entry and the key', () => {
    assert.equal(
      configError(`tokens:\n  - { name: a, sha256: abc, scopes: [ingest] }\n`),
      'tokens.yaml: tokens[0] "a": sha256: expected the hex SHA-256 of the secret (64 hex digits)',
    );
    assert.equal(
      configError(`tokens:\n  - { name: a, sha256: ${A}, scopes: [write] }\n`),
      'tokens.yaml: tokens[0] "a": scopes: 0: expected ingest, read or admin, found "write"',
    );
    assert.equal(
      configError(`tokens:\n  - { name: a, sha256: ${A}, scopes: [] }\n`),
      'tokens.yaml: tokens[0] "a": scopes: expected at least one of ingest, read, admin',
    );
    assert.equal(
      configError(`tokens:\n  - { name: a, secret: hunter2, sha256: ${A}, scopes: [read] }\n`),
      'tokens.yaml: tokens[0] "a": unknown key "secret": store only the secret\'s sha256 (`vigil token hash`), never the secret',
    );
    assert.equal(
      configError(
        `tokens:\n  - { name: a, sha256: ${A}, scopes: [read], points_per_s: 0 }\n  - { sha256: ${B}, scopes: [read] }\n`,
      ),
      [
        'tokens.yaml: tokens[0] "a": points_per_s: expected a rate > 0',
        'tokens.yaml: tokens[1]: name: Invalid input: expected string, received undefined',
      ].join('\n'),
    );
    assert.equal(
      configError(
        `tokens:\n  - { name: a, sha256: ${A}, scopes: [read] }\n  - { name: a, sha256: ${B}, scopes: [read] }\n  - { name: c, sha256: ${A.toUpperCase()}, scopes: [ingest] }\n`,
      ),
      [
        'tokens.yaml: tokens[1] "a": name already used by tokens[0]',
        'tokens.yaml: tokens[2] "c": sha256 already used by tokens[0] "a": each token needs its own secret',
      ].join('\n'),
    );
    assert.equal(
      configError(''),
      'tokens.yaml: empty; expected a `tokens:` list (`tokens: []` for none)',
    );
    assert.equal(
      configError('token: []\n'),
      [
        'tokens.yaml: tokens: Invalid input: expected array, received undefined',
        'tokens.yaml: unknown key "token"',
      ].join('\n'),
    );
    assert.match(configError('tokens: [\n'), /^tokens\.yaml: not YAML: /);
  });
});

describe('reloading the tokens file', () => {
  let dir: string;
  let file: string;
  let tokens: WatchedTokens;
  let registry: Registry;
  const warnings: string[] = [];
  let reloaded: ((ok: boolean) => void) | undefined;
  /** The next reload's outcome; the timer keeps the test alive while the watcher (unref'd) works. */
  const nextReload = () =>
    new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reload within 20 s')), 20_000);
      reloaded = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
    });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-tokens-'));
    file = path.join(dir, 'tokens.yaml');
    await writeFile(file, `tokens:\n  - { name: a, sha256: ${A}, scopes: [read] }\n`);
    registry = new Registry();
    tokens = await WatchedTokens.open({
      file,
      registry,
      log: { info: () => undefined, warn: (m) => warnings.push(m) },
      debounceMs: 20,
      rescanMs: 200,
      onReload: (ok) => reloaded?.(ok),
    });
  });
  after(async () => {
    tokens.close();
    await rm(dir, { recursive: true, force: true });
  });

  const failures = async () =>
    (await registry.getSingleMetric('vigil_auth_reload_failures_total')!.get()).values[0]?.value;

  test('a new token works and a removed one is refused once the file changes', async () => {
    assert.equal(tokens.authenticate('secret-a')?.name, 'a');
    assert.equal(tokens.authenticate('secret-b'), undefined);
    const done = nextReload();
    await writeFile(file, `tokens:\n  - { name: b, sha256: ${B}, scopes: [ingest] }\n`);
    assert.equal(await done, true);
    assert.equal(tokens.authenticate('secret-b')?.name, 'b');
    assert.equal(tokens.authenticate('secret-a'), undefined);
    assert.equal(tokens.size, 1);
  });

  test('a broken file keeps the tokens in force, warns and counts the failure', async () => {
    const done = nextReload();
    await writeFile(file, `tokens:\n  - { name: c, sha256: nothex, scopes: [ingest] }\n`);
    assert.equal(await done, false);
    assert.equal(tokens.authenticate('secret-b')?.name, 'b');
    assert.equal(await failures(), 1);
    assert.match(
      warnings.at(-1) ?? '',
      /tokens\.yaml: not reloaded, keeping the 1 tokens in force: .*sha256/,
    );

    const removed = nextReload();
    await unlink(file);
    assert.equal(await removed, false);
    assert.equal(tokens.authenticate('secret-b')?.name, 'b', 'a deleted file keeps them too');
    assert.equal(await failures(), 2);

    const fixed = nextReload();
    await writeFile(file, `tokens: []\n`);
    assert.equal(await fixed, true);
    assert.equal(tokens.authenticate('secret-b'), undefined);
    assert.equal(tokens.enabled, true, 'a file of no tokens refuses everyone');
  });
});

describe('vigil token', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-token-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('create writes the digest, never the secret, to a file of mode 0600 and prints the secret once', async () => {
    const file = path.join(dir, 'tokens.yaml');
    const first = await run(process.execPath, [
      MAIN,
      'token',
      'create',
      '--name',
      'prometheus',
      '--scopes',
      'ingest',
      '--file',
      file,
      '--points-per-s',
      '50000',
    ]);
    const secret = first.stdout.trim();
    assert.match(secret, /^vgl_[A-Za-z0-9_-]{43}$/);
    assert.match(first.stderr, /shown only now/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await writeFile(file, `# operators' note\n${await readFile(file, 'utf8')}`);
    const second = await run(process.execPath, [
      MAIN,
      'token',
      'create',
      '--name',
      'grafana',
      '--scopes',
      'read,admin',
      '--file',
      file,
    ]);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(secret) && !text.includes(second.stdout.trim()), text);
    assert.match(text, /^# operators' note/, 'comments are kept');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const entries = parseTokensFile(text, file);
    assert.deepEqual(
      entries.map((e) => [e.name, e.sha256, e.scopes, e.rates]),
      [
        ['prometheus', hashSecret(secret), ['ingest'], { pointsPerS: 50000 }],
        ['grafana', hashSecret(second.stdout.trim()), ['read', 'admin'], undefined],
      ],
    );
    await assert.rejects(
      run(process.execPath, [
        MAIN,
        'token',
        'create',
        '--name',
        'grafana',
        '--scopes',
        'read',
        '--file',
        file,
      ]),
      (err: { code: number; stderr: string }) =>
        err.code === 2 &&
        /VIGIL_ERR_USAGE: .* already has a token named "grafana"/.test(err.stderr),
    );
  });

  test('hash prints the digest of a secret read from standard input', async () => {
    const child = execFile(process.execPath, [MAIN, 'token', 'hash']);
    child.stdin?.end('vgl_some-secret\n');
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(out.trim(), hashSecret('vgl_some-secret'));
  });
});
