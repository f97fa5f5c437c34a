/**
 * The Dockerfile: two stages (build with dev dependencies, runtime without), pinned bases, a
 * non-root user, proto/ and strategies/ baked in, /data as the one writable volume, documented
 * variables only, sources that .dockerignore does not drop; its HEALTHCHECK command run for
 * real against `vigil serve` (fails while nothing serves, passes once it does); and the image's
 * environment alone refuses to start (0.0.0.0 without tokens), as docs/deploy.md says.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, documentedVariables, isPinnedImage } from './deploy-files.js';

const MAIN = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** The instructions, continuation lines joined, comments dropped, numbered by stage. */
async function instructions(): Promise<Instruction[]> {
  const text = await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m?.[1]) continue;
    if (m[1] === 'FROM') stage += 1;
    out.push({ keyword: m[1], args: (m[2] ?? '').trim(), stage });
  }
  return out;
}

/** `KEY=value` pairs of the ENV instructions of a stage. */
function envOf(list: Instruction[], stage: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of list.filter((x) => x.keyword === 'ENV' && x.stage === stage)) {
    for (const m of i.args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1]!] = m[2]!;
  }
  return env;
}

/** The HEALTHCHECK's exec-form command. */
function healthcheckCommand(list: Instruction[]): string[] {
  const hc = list.find((i) => i.keyword === 'HEALTHCHECK');
  assert.ok(hc, 'a HEALTHCHECK');
  const cmd = /\bCMD\s+(\[.*\])\s*$/.exec(hc.args);
  assert.ok(cmd?.[1], 'HEALTHCHECK CMD in exec form (no shell in the check)');
  return JSON.parse(cmd[1]) as string[];
}

function runHealthcheck(command: string[], port: string): number | null {
  const [bin, ...args] = command;
  assert.equal(bin, 'node', 'node:slim has no curl: the check runs node');
  return spawnSync(process.execPath, args, {
    env: { ...process.env, VIGIL_PORT: port },
    timeout: 10_000,
  }).status;
}

describe('Dockerfile', () => {
  test('builds in two stages from pinned bases; the runtime takes only the build output', async () => {
    const list = await instructions();
    const froms = list.filter((i) => i.keyword === 'FROM');
    assert.equal(froms.length, 2);
    for (const f of froms) assert.ok(isPinnedImage(f.args.split(/\s+/)[0]!), f.args);
    assert.match(froms[0]!.args, /\bAS build$/);
    assert.match(froms[0]!.args, /^node:24\b/, 'Node 24');
    const build = list.filter((i) => i.stage === 0 && i.keyword === 'RUN').map((i) => i.args);
    assert.ok(build.some((r) => r.includes('npm ci')));
    assert.ok(build.some((r) => r.includes('npm run build') && r.includes('npm prune --omit=dev')));
    const fromBuild = list.filter((i) => i.stage === 1 && i.args.startsWith('--from=build'));
    assert.deepEqual(fromBuild.map((i) => i.args.split(/\s+/)[1]).sort(), [
      '/src/dist',
      '/src/node_modules',
      '/src/package.json',
    ]);
  });

  test('runs as the non-root uid 10001, with proto/, strategies/ and the web assets baked in', async () => {
    const list = await instructions();
    const runtime = list.filter((i) => i.stage === 1);
    const users = runtime.filter((i) => i.keyword === 'USER').map((i) => i.args);
    assert.deepEqual(users, ['10001:10001']);
    const copied = runtime
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .map((i) => i.args);
    for (const want of ['proto ./proto', 'strategies ./strategies', 'web/public ./web/public']) {
      assert.ok(copied.includes(want), want);
    }
    assert.ok(runtime.some((i) => i.keyword === 'WORKDIR' && i.args === '/app'));
    assert.ok(runtime.some((i) => i.keyword === 'EXPOSE' && i.args === '8080 50051'));
    assert.ok(runtime.some((i) => i.keyword === 'VOLUME' && i.args === '/data'));
  });

  test('everything written goes to /data; every variable is documented', async () => {
    const list = await instructions();
    const env = envOf(list, 1);
    assert.equal(env.VIGIL_DATA_DIR, '/data');
    assert.equal(env.XDG_CACHE_HOME, '/data/cache', 'the PGlite template cache');
    assert.equal(env.VIGIL_HOST, '0.0.0.0');
    const documented = await documentedVariables();
    for (const name of Object.keys(env).filter((n) => n !== 'NODE_ENV')) {
      assert.ok(documented.has(name), `${name} is not in docs/operations.md`);
    }
  });

  test('every source the build copies exists and .dockerignore keeps it', async () => {
    const list = await instructions();
    const ignored = (await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const sources = list
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    assert.ok(sources.length >= 8);
    for (const s of sources) {
      await stat(path.join(REPO_ROOT, s));
      assert.ok(!ignored.includes(s.split('/')[0]!), `${s} is dropped by .dockerignore`);
    }
    for (const heavy of ['node_modules', '**/node_modules', 'dist', 'data', '.git']) {
      assert.ok(ignored.includes(heavy), `.dockerignore keeps ${heavy} out of the context`);
    }
  });

  test("the image's environment alone refuses to start: 0.0.0.0 needs tokens or VIGIL_INSECURE", async () => {
    const list = await instructions();
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-image-env-'));
    try {
      const env = { ...envOf(list, 1), VIGIL_DATA_DIR: dir, XDG_CACHE_HOME: dir };
      const r = spawnSync(process.execPath, [MAIN, 'serve'], {
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(
        r.stderr,
        /VIGIL_ERR_CONFIG: --host 0\.0\.0\.0: refusing to serve a non-loopback/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the HEALTHCHECK fails while nothing serves and passes against vigil serve', async () => {
    const command = healthcheckCommand(await instructions());
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-healthcheck-'));
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--grpc-port', '0', '--data-dir', dir, '--no-demo'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CACHE_HOME: dir } },
    );
    try {
      let port: string | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        const entry = JSON.parse(line) as { msg?: string; http?: string };
        if (entry.msg === 'vigil serving' && entry.http) {
          port = new URL(entry.http).port;
          break;
        }
      }
      assert.ok(port, 'vigil serve started');
      assert.equal(runHealthcheck(command, port), 0);
      child.kill('SIGTERM');
      await once(child, 'exit');
      assert.equal(runHealthcheck(command, port), 1);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
