/**
 * SIGTERM of the real `vigil serve` during a PostgreSQL outage: the process exits within the
 * shutdown budget (10 s), and every point it acknowledged, before and during the outage, is
 * stored after a restart. The outage is a black hole in a TCP proxy in front of the real server
 * (src/store/testing/tcp-proxy.ts), on a database of its own.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startTcpProxy } from '../store/testing/tcp-proxy.js';
import { freePort } from '../net/free-port.js';
import { sleep } from '../timing/sleep.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/test';
const BASE = Date.UTC(2026, 0, 1);
const BUDGET_S = 10;
/** Process start-up of the signal handler and exit itself, beyond the budget. */
const SLACK_MS = 1500;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client(ADMIN_URL);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface Served {
  readonly child: ChildProcess;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  log(): string;
}

test(
  'SIGTERM during a store outage exits within 10 s; every acked point is stored after restart',
  { timeout: 240_000 },
  async (t) => {
    const database = `vigil_shutdown_${process.pid}`;
    await admin(`DROP DATABASE IF EXISTS ${database}`);
    await admin(`CREATE DATABASE ${database}`);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-shutdown-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = path.join(dir, 'vigil.yaml');
    await writeFile(config, process.env.BASELINE ? '' : `shutdown_timeout_s: ${BUDGET_S}\n`);
    const live = new Set<Served>();

    async function start(): Promise<Served> {
      const args = [
        MAIN,
        'serve',
        '--port',
        String(port),
        '--grpc-port',
        String(await freePort()),
        '--data-dir',
        path.join(dir, 'data'),
        '--database-url',
        `postgresql://postgres@127.0.0.1:${proxy.port}/${database}`,
        '--config',
        config,
        '--no-demo',
      ];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const keep = (chunk: Buffer) => {
        out = (out + chunk.toString()).slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const served: Served = {
        child,
        exited: once(child, 'exit') as Served['exited'],
        log: () => out,
      };
      live.add(served);
      let gone = false;
      void served.exited.then(() => (gone = true));
      const deadline = Date.now() + 60_000;
      for (;;) {
        assert.ok(!gone, `vigil serve exited while starting:\n${out}`);
        assert.ok(Date.now() < deadline, `not ready within 60 s:\n${out}`);
        const r = await fetch(`${url}/readyz`).catch(() => undefined);
        if (r?.status === 200) return served;
        await sleep(100);
      }
    }

    /** Time → value of every acknowledged point. */
    const acked = new Map<number, number>();
    async function ingest(from: number, batches: number): Promise<void> {
      for (let b = 0; b < batches; b++) {
        const lines = Array.from({ length: 50 }, (_, i) => {
          const seq = from + b * 50 + i;
          return JSON.stringify({
            timestamp: BASE + seq * 1000,
            device_id: 'outage',
            metrics: { v: seq + 0.5 },
          });
        });
        const r = await fetch(`${url}/v1/points`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: lines.join('\n'),
        });
        const text = await r.text();
        assert.equal(r.status, 200, text);
        assert.deepEqual(JSON.parse(text), { accepted: 50, errors: [] });
        for (let i = 0; i < 50; i++)
          acked.set(BASE + (from + b * 50 + i) * 1000, from + b * 50 + i + 0.5);
      }
    }

    try {
      const first = await start();
      await ingest(0, 10);
      t.diagnostic('acked 500 points; cutting the store off');
      proxy.cut();
      // Acknowledged while the store is unreachable: only the spool holds these.
      await ingest(500, 10);
      t.diagnostic('acked 500 more during the outage');
      await sleep(500); // the store writer is now retrying against the black hole
      const signalled = performance.now();
      first.child.kill('SIGTERM');
      // Past twice the budget it is hung: killed, so the assertion below reports it.
      const hung = setTimeout(() => first.child.kill('SIGKILL'), 2 * BUDGET_S * 1000);
      const [code, signal] = await first.exited;
      clearTimeout(hung);
      const tookMs = performance.now() - signalled;
      live.delete(first);
      t.diagnostic(`exit ${code} ${signal} after ${Math.round(tookMs)} ms`);
      assert.ok(
        tookMs <= BUDGET_S * 1000 + SLACK_MS,
        `took ${Math.round(tookMs)} ms:\n${first.log()}`,
      );
      assert.equal(signal, null, first.log());
      // The engine gave up on the store and closed its log; the stages left behind are named.
      assert.match(
        first.log(),
        /store unreachable at shutdown: \d+ values not stored stay in the log/,
      );
      for (const line of first
        .log()
        .split('\n')
        .filter((l) => /"(msg|component)"/.test(l))) {
        const { msg, component } = JSON.parse(line) as { msg: string; component?: string };
        t.diagnostic(`${component ?? ''} ${msg}`);
      }

      proxy.restore();
      const second = await start();
      const deadline = Date.now() + 60_000;
      let stored = new Map<number, number>();
      while (stored.size < acked.size && Date.now() < deadline) {
        const r = await fetch(
          `${url}/v1/points?device=outage&metric=v&from=${BASE}&to=${BASE + 10_000_000}&limit=100000`,
        );
        const page = (await r.json()) as { times: number[]; values: number[] };
        stored = new Map(page.times.map((time, i) => [time, page.values[i] as number]));
        await sleep(200);
      }
      for (const [time, value] of acked) {
        assert.equal(stored.get(time), value, `acked point at ${time} lost`);
      }
      assert.equal(stored.size, acked.size);
      second.child.kill('SIGTERM');
      const [code2] = await second.exited;
      live.delete(second);
      assert.equal(code2, 0, second.log());
    } finally {
      for (const served of live) {
        served.child.kill('SIGKILL');
        await served.exited;
      }
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
      await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    }
  },
);
