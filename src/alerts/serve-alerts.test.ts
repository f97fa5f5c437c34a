/**
 * `vigil serve` with an `alerts` section, end to end: a real server process scores points, an
 * anomaly opens an event, and a signed webhook reaches a real local receiver; the dead-letter
 * route answers; SIGTERM flushes and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verify } from './signature.js';
import { sleep } from '../timing/sleep.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const STRATEGY = fileURLToPath(new URL('../../strategies/ewzscore.yaml', import.meta.url));
const SECRET = 'serve-test-secret-0123456789';

test('vigil serve sends a signed webhook for an anomaly and flushes on SIGTERM', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-alerts-'));
  const bodies: { body: string; signature: string; timestamp: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push({
        body,
        signature: String(req.headers['x-vigil-signature']),
        timestamp: String(req.headers['x-vigil-timestamp']),
      });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  await mkdir(path.join(dir, 'strategies'));
  await copyFile(STRATEGY, path.join(dir, 'strategies', 'ewzscore.yaml'));
  const config = path.join(dir, 'vigil.yaml');
  await writeFile(
    config,
    [
      'alerts:',
      '  public_url: http://vigil.example',
      '  webhooks:',
      '    - name: ops',
      `      url: ${hook}`,
      '      secret_env: TEST_HOOK_SECRET',
      '      retry: {max_attempts: 2, initial_ms: 50}',
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--port=0',
      '--grpc-port=0',
      `--data-dir=${path.join(dir, 'data')}`,
      `--strategies=${path.join(dir, 'strategies')}`,
      `--config=${config}`,
      '--no-demo',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TEST_HOOK_SECRET: SECRET } },
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

    // 60 quiet points (the z-score warms up on 30), one far-off spike, then quiet again.
    const t0 = Date.UTC(2026, 2, 1);
    const values = Array.from({ length: 80 }, (_, i) => (i === 60 ? 500 : 10 + (i % 3) * 0.1));
    const ndjson = values
      .map((v, i) =>
        JSON.stringify({ timestamp: t0 + i * 1000, device_id: 'hook-1', metrics: { v } }),
      )
      .join('\n');
    const ingest = await fetch(`${url}/v1/points`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: ndjson,
    });
    assert.equal(ingest.status, 200);
    for (let i = 0; i < 200 && bodies.length < 2; i++) await sleep(50);
    assert.ok(bodies.length >= 1, `no webhook arrived; stderr: ${stderr}`);
    const first = bodies[0]!;
    assert.deepEqual(
      verify(SECRET, { signature: first.signature, timestamp: first.timestamp }, first.body),
      { ok: true },
    );
    const json = JSON.parse(first.body) as {
      change: string;
      incident: { device: string; id: string };
      event: { metric: string; strategy: string; link: string };
    };
    assert.equal(json.change, 'open');
    assert.equal(json.incident.device, 'hook-1');
    assert.equal(json.incident.id, `hook-1|${t0 + 60_000}`);
    assert.equal(json.event.metric, 'v');
    assert.equal(json.event.strategy, 'ewzscore@1');
    assert.match(json.event.link, /^http:\/\/vigil\.example\/#\/events\//);

    const letters = await fetch(`${url}/v1/alerts/dead-letters`);
    assert.equal(letters.status, 200);
    assert.deepEqual(await letters.json(), { dead_letters: [] });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /vigil_alerts_sent_total\{sink="ops",kind="webhook"\} [1-9]/);

    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  } finally {
    child.kill('SIGKILL');
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});
