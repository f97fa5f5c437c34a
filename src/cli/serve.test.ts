import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { VigilError } from '../errors.js';
import { resolveSettings } from './serve-settings.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

test('vigil serve end to end: ready, ingest, query, SIGTERM exits 0', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-'));
  const config = path.join(dir, 'vigil.yaml');
  await writeFile(config, 'units:\n  v: { unit: kPa, description: line pressure }\n');
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--port',
      '0',
      '--grpc-port',
      '0',
      '--data-dir',
      dir,
      '--no-demo',
      '--config',
      config,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  try {
    let url: string | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      const entry = JSON.parse(line) as { msg?: string; http?: string };
      if (entry.msg === 'vigil serving') {
        url = entry.http;
        break;
      }
    }
    assert.ok(url, `no "vigil serving" line; stderr: ${stderr}`);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);

    const t0 = Date.UTC(2026, 2, 1);
    const ndjson = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ timestamp: t0 + i * 1000, device_id: 'e2e-1', metrics: { v: i } }),
    ).join('\n');
    const ingest = await fetch(`${url}/v1/points`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: ndjson,
    });
    assert.equal(ingest.status, 200);
    assert.deepEqual(await ingest.json(), { accepted: 30, errors: [] });

    // Acknowledged means durable; storing is in the background, so poll briefly.
    let values: unknown[] = [];
    for (let i = 0; i < 100 && values.length < 30; i++) {
      const r = await fetch(`${url}/v1/points?device=e2e-1&metric=v&from=${t0}&to=${t0 + 60_000}`);
      values = ((await r.json()) as { values: unknown[] }).values;
      if (values.length < 30) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(
      values,
      Array.from({ length: 30 }, (_, i) => i),
    );
    const strategies = (await (await fetch(`${url}/v1/strategies`)).json()) as {
      strategies: { name: string }[];
    };
    assert.ok(strategies.strategies.some((s) => s.name === 'default'));
    // The config file's units, applied at start.
    const series = (await (await fetch(`${url}/v1/series?device=e2e-1`)).json()) as {
      series: { metric: string; unit: string; unit_source: string }[];
    };
    assert.deepEqual(
      series.series.map((s) => [s.metric, s.unit, s.unit_source]),
      [['v', 'kPa', 'declared']],
    );
    const units = (await (await fetch(`${url}/v1/units`)).json()) as {
      units: { metric: string; source: string; description: string }[];
    };
    assert.deepEqual(
      units.units.map((u) => [u.metric, u.source, u.description]),
      [['v', 'config', 'line pressure']],
    );

    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('configuration: flag over environment over file, errors name the key', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-config-'));
  try {
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(
      file,
      // A non-loopback host needs a tokens file (or --insecure): src/cli/serve-auth.test.ts.
      'port: 9000\ngrpc_port: 9001\nhost: 0.0.0.0\nlimits:\n  body_bytes: 1024\nauth:\n  tokens_file: tokens.yaml\n',
    );
    const fromFile = await resolveSettings({ config: file, demo: true }, false, {});
    assert.equal(fromFile.port, 9000);
    assert.equal(fromFile.grpcPort, 9001);
    assert.equal(fromFile.host, '0.0.0.0');
    assert.equal(fromFile.dataDir, './data');
    assert.equal(fromFile.demo, true);
    const fromEnv = await resolveSettings({ config: file, demo: true }, false, {
      PORT: '7000',
      VIGIL_DEMO: 'false',
      DATABASE_URL: 'postgres://localhost/vigil',
    });
    assert.equal(fromEnv.port, 7000);
    assert.equal(fromEnv.demo, false);
    assert.equal(fromEnv.databaseUrl, 'postgres://localhost/vigil');
    const fromFlag = await resolveSettings({ config: file, port: '6000', demo: false }, true, {
      VIGIL_PORT: '7000',
    });
    assert.equal(fromFlag.port, 6000);
    assert.equal(fromFlag.demo, false);

    await writeFile(file, 'port: eighty\nlimits:\n  body_byte: 10\n');
    await assert.rejects(
      resolveSettings({ config: file, demo: true }, false, {}),
      (err: unknown) =>
        err instanceof VigilError &&
        err.code === 'VIGIL_ERR_CONFIG' &&
        /vigil\.yaml: port: /.test(err.message) &&
        /limits: unknown key "body_byte"/.test(err.message),
    );
    await assert.rejects(
      resolveSettings({ demo: true }, false, { VIGIL_PORT: 'x' }),
      /VIGIL_PORT: expected a port number/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a component that fails to start stops the ones started before it: the command exits', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-fail-'));
  try {
    // The MQTT subscriber starts after both servers listen; its CA file does not exist.
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(
      file,
      [
        'mqtt:',
        '  url: mqtt://127.0.0.1:1883',
        `  ca_file: ${path.join(dir, 'missing-ca.pem')}`,
        '  subscriptions: [{ topic: vigil-test/+device }]',
        '',
      ].join('\n'),
    );
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--grpc-port', '0', '--data-dir', dir, '--no-demo'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VIGIL_CONFIG: file } },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /VIGIL_ERR_CONFIG: mqtt\.ca_file: cannot read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
