/**
 * `vigil serve` and authentication: where the tokens file comes from, the loopback-only rule
 * without one, and a real served process checking tokens.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isLoopback } from '../auth/config.js';
import { hashSecret } from '../auth/token-set.js';
import { VigilError } from '../errors.js';
import { resolveSettings } from './serve-settings.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

test('loopback addresses', () => {
  for (const host of [
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    '[::1]',
    'localhost',
    'LOCALHOST',
    '::ffff:127.0.0.1',
  ]) {
    assert.equal(isLoopback(host), true, host);
  }
  for (const host of [
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '192.168.1.2',
    'vigil.example',
    '128.0.0.1',
    '::2',
  ]) {
    assert.equal(isLoopback(host), false, host);
  }
});

test('a non-loopback host without tokens is refused unless --insecure; tokens from flag, env or file', async () => {
  const refused = (promise: Promise<unknown>) =>
    assert.rejects(
      promise,
      (err: unknown) =>
        err instanceof VigilError &&
        err.code === 'VIGIL_ERR_CONFIG' &&
        err.message.includes(
          '--host 0.0.0.0: refusing to serve a non-loopback address without authentication; give a tokens file (--auth-tokens FILE',
        ) &&
        err.message.includes('or --insecure'),
    );
  await refused(resolveSettings({ host: '0.0.0.0', demo: true }, false, {}));
  await refused(resolveSettings({ demo: true }, false, { VIGIL_HOST: '0.0.0.0' }));
  await refused(resolveSettings({ demo: true }, false, { HOST: '0.0.0.0', VIGIL_INSECURE: 'no' }));

  const insecure = await resolveSettings(
    { host: '0.0.0.0', insecure: true, demo: true },
    false,
    {},
  );
  assert.equal(insecure.insecure, true);
  assert.equal(insecure.authTokens, undefined);
  const fromEnv = await resolveSettings({ host: '0.0.0.0', demo: true }, false, {
    VIGIL_INSECURE: 'true',
  });
  assert.equal(fromEnv.insecure, true);
  await assert.rejects(
    resolveSettings({ demo: true }, false, { VIGIL_INSECURE: 'maybe' }),
    /VIGIL_INSECURE: expected true or false, found "maybe"/,
  );

  const local = await resolveSettings({ demo: true }, false, {});
  assert.equal(local.host, '127.0.0.1');
  assert.equal(local.authTokens, undefined);
  assert.equal(local.insecure, false);

  const flag = await resolveSettings({ host: '0.0.0.0', authTokens: 'a.yaml', demo: true }, false, {
    VIGIL_AUTH_TOKENS: 'b.yaml',
  });
  assert.equal(flag.authTokens, 'a.yaml');
  const env = await resolveSettings({ host: '::', demo: true }, false, {
    VIGIL_AUTH_TOKENS: 'b.yaml',
  });
  assert.equal(env.authTokens, 'b.yaml');

  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-auth-config-'));
  try {
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(file, 'host: 0.0.0.0\nauth:\n  tokens_file: /etc/vigil/tokens.yaml\n');
    const fromFile = await resolveSettings({ config: file, demo: true }, false, {});
    assert.equal(fromFile.authTokens, '/etc/vigil/tokens.yaml');
    await writeFile(file, 'auth:\n  tokens: x\n');
    await assert.rejects(
      resolveSettings({ config: file, demo: true }, false, {}),
      /auth: unknown key "tokens"/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

interface Served {
  readonly url: string | undefined;
  readonly lines: { msg?: string; level?: number }[];
  stop(): Promise<number | null>;
}

/** Starts `vigil serve` with `args` and reads its log up to "vigil serving" (or its exit). */
async function serve(
  dir: string,
  args: string[],
): Promise<Served & { exit: Promise<[number | null]>; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--port', '0', '--grpc-port', '0', '--data-dir', dir, '--no-demo', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = once(child, 'exit') as Promise<[number | null]>;
  const lines: { msg?: string; level?: number; http?: string }[] = [];
  let url: string | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    const entry = JSON.parse(line) as { msg?: string; level?: number; http?: string };
    lines.push(entry);
    if (entry.msg === 'vigil serving') {
      url = entry.http;
      break;
    }
  }
  return {
    url,
    lines,
    exit,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      const [code] = await exit;
      return code;
    },
  };
}

test('vigil serve with a tokens file: probes open, the API needs a token', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-auth-'));
  try {
    const tokens = path.join(dir, 'tokens.yaml');
    await writeFile(
      tokens,
      `tokens:\n  - { name: ops, sha256: ${hashSecret('vgl_ops')}, scopes: [admin] }\n`,
    );
    // An invalid file stops the start before storage opens, naming the entry and key.
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'tokens:\n  - { name: x, sha256: 123, scopes: [read] }\n');
    const refused = await serve(dir, ['--auth-tokens', bad]);
    assert.equal(refused.url, undefined);
    assert.deepEqual(await refused.exit, [2, null]);
    assert.match(
      refused.stderr(),
      /VIGIL_ERR_CONFIG: .*bad\.yaml: tokens\[0\] "x": sha256: expected/,
    );

    const s = await serve(dir, ['--auth-tokens', tokens]);
    assert.ok(s.url, `not serving: ${s.stderr()}`);
    assert.ok(s.lines.some((l) => l.msg === `authentication on: 1 tokens from ${tokens}`));
    assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
    const none = await fetch(`${s.url}/v1/devices`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, 'VIGIL_ERR_UNAUTHENTICATED');
    const ok = await fetch(`${s.url}/v1/devices`, { headers: { authorization: 'Bearer vgl_ops' } });
    assert.equal(ok.status, 200);
    assert.equal(await s.stop(), 0, s.stderr());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('vigil serve without tokens: loopback with a warning; 0.0.0.0 refused, or served with --insecure', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-noauth-'));
  try {
    const refused = await serve(dir, ['--host', '0.0.0.0']);
    assert.equal(refused.url, undefined);
    const [code] = await refused.exit;
    assert.equal(code, 2);
    assert.match(
      refused.stderr(),
      /VIGIL_ERR_CONFIG: --host 0\.0\.0\.0: refusing to serve a non-loopback address without authentication/,
    );

    const local = await serve(dir, []);
    assert.ok(local.url, local.stderr());
    assert.ok(
      local.lines.some(
        (l) =>
          l.level === 40 && /^authentication off: .*loopback 127\.0\.0\.1 only/.test(l.msg ?? ''),
      ),
      JSON.stringify(local.lines),
    );
    assert.equal((await fetch(`${local.url}/v1/devices`)).status, 200);
    assert.equal(await local.stop(), 0);

    const insecure = await serve(dir, ['--host', '0.0.0.0', '--insecure']);
    assert.ok(insecure.url, insecure.stderr());
    assert.ok(
      insecure.lines.some(
        (l) => l.level === 40 && /^authentication off and --insecure/.test(l.msg ?? ''),
      ),
    );
    assert.equal(await insecure.stop(), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
