/**
 * kill -9 of the real `vigil serve` process (embedded PGlite in --data-dir): every point whose
 * batch was answered 200 and counted in `accepted` is stored exactly once, with its value, after
 * a restart on the same data dir — over several kill rounds — and SIGTERM then exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../net/free-port.js';
import { sleep } from '../timing/sleep.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

const ROUNDS = 3;
const LOOPS = 4;
const POINTS_PER_BATCH = 200;
const MAX_BATCHES_PER_LOOP = 40; // bounded: at most 4 × 40 × 200 = 32k points per round
const BASE = Date.UTC(2026, 0, 1);
const ROUND_SPAN = 1_000_000; // points (1 s apart) per loop per round, so rounds never overlap
const SEED = 0x5eed_c0de;

/** mulberry32: a small seeded PRNG, so each round's kill delay is deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Reply {
  status: number;
  body: string;
}

/** One HTTP request on the given agent (one agent per server process, so no stale sockets). */
function request(
  agent: http.Agent,
  url: string,
  method = 'GET',
  body?: string,
  timeoutMs = 10_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/x-ndjson' },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

const device = (loop: number) => `crash-${loop}`;
const timeOf = (round: number, seq: number) => BASE + (round * ROUND_SPAN + seq) * 1000;
const valueOf = (round: number, loop: number, seq: number) =>
  round * 1_000_000 + loop * 100_000 + seq + 0.25;

interface Server {
  child: ChildProcess;
  url: string;
  agent: http.Agent;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  log: () => string;
}

test(
  'vigil serve: every acknowledged point survives kill -9 of the process, stored exactly once',
  // Generous: on a loaded machine the embedded database alone can take a minute to start.
  { timeout: 480_000 },
  async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-serve-crash-'));
    const dataDir = path.join(dir, 'data');
    const port = await freePort();
    const grpcPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const live = new Set<Server>();

    async function start(): Promise<Server> {
      const child = spawn(
        process.execPath,
        [
          MAIN,
          'serve',
          '--port',
          String(port),
          '--grpc-port',
          String(grpcPort),
          '--data-dir',
          dataDir,
          '--no-demo',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      const keep = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.length > 20_000) out = out.slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      const server: Server = {
        child,
        url,
        agent: new http.Agent({ keepAlive: true, maxSockets: LOOPS + 2 }),
        exited,
        log: () => out,
      };
      live.add(server);
      let gone = false;
      void exited.then(() => (gone = true));
      const deadline = Date.now() + 120_000;
      for (;;) {
        assert.ok(!gone, `vigil serve exited while starting:\n${out}`);
        assert.ok(Date.now() < deadline, `not ready within 120 s:\n${out}`);
        try {
          const r = await request(server.agent, `${url}/readyz`, 'GET', undefined, 2000);
          if (r.status === 200) return server;
        } catch {
          // not listening yet
        }
        await sleep(50);
      }
    }

    async function kill(server: Server): Promise<void> {
      server.child.kill('SIGKILL');
      await server.exited;
      server.agent.destroy();
      live.delete(server);
    }

    /** Wait until nothing is queued (replayed and new points are stored), then a little more. */
    async function settle(server: Server): Promise<void> {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await request(server.agent, `${url}/metrics`);
        const m = /^vigil_engine_queued_points (\S+)$/m.exec(r.body);
        if (m && Number(m[1]) === 0) return;
        assert.ok(Date.now() < deadline, `queue did not drain: ${m?.[0] ?? 'no gauge'}`);
        await sleep(50);
      }
    }

    async function storedSeries(server: Server, dev: string): Promise<Map<number, number[]>> {
      const stored = new Map<number, number[]>();
      let from = BASE;
      const to = timeOf(ROUNDS, 0);
      for (;;) {
        const r = await request(
          server.agent,
          `${url}/v1/points?device=${dev}&metric=v&from=${from}&to=${to}&limit=100000`,
        );
        assert.equal(r.status, 200, r.body);
        const page = JSON.parse(r.body) as {
          times: number[];
          values: (number | null)[];
          truncated: boolean;
        };
        page.times.forEach((t, i) => {
          const list = stored.get(t) ?? [];
          list.push(page.values[i] as number);
          stored.set(t, list);
        });
        if (!page.truncated || page.times.length === 0) return stored;
        from = (page.times[page.times.length - 1] as number) + 1;
      }
    }

    // Per device: time → value of acknowledged points; and of points sent in a batch whose
    // answer never came (the kill hit it) — those may or may not be stored, never twice.
    const acked = Array.from({ length: LOOPS }, () => new Map<number, number>());
    const maybe = Array.from({ length: LOOPS }, () => new Map<number, number>());

    async function verify(server: Server, round: number): Promise<number> {
      await settle(server);
      let total = 0;
      for (let loop = 0; loop < LOOPS; loop++) {
        const stored = await storedSeries(server, device(loop));
        total += stored.size;
        let found = 0;
        for (const [t, values] of stored) {
          assert.equal(values.length, 1, `round ${round}: ${device(loop)}@${t} stored twice`);
          const expected = acked[loop]!.get(t) ?? maybe[loop]!.get(t);
          assert.ok(expected !== undefined, `round ${round}: ${device(loop)}@${t} never sent`);
          assert.equal(values[0], expected, `round ${round}: ${device(loop)}@${t} wrong value`);
          if (acked[loop]!.has(t)) found++;
        }
        for (const [t, v] of acked[loop]!) {
          assert.equal(stored.get(t)?.[0], v, `round ${round}: acked ${device(loop)}@${t} lost`);
        }
        assert.equal(found, acked[loop]!.size, `round ${round}: ${device(loop)} acked count`);
      }
      return total;
    }

    /** Ingest loops against `server`, SIGKILL after a seeded random delay from the first ack. */
    async function ingestAndKill(server: Server, round: number): Promise<number> {
      const random = prng(SEED + round);
      const delay = 150 + Math.floor(random() * 1000);
      let killed = false;
      let armed: Promise<void> | undefined;
      let ackedThisRound = 0;
      const loop = async (l: number) => {
        for (let b = 0; b < MAX_BATCHES_PER_LOOP && !killed; b++) {
          const batch: [number, number][] = [];
          for (let i = 0; i < POINTS_PER_BATCH; i++) {
            const seq = b * POINTS_PER_BATCH + i;
            batch.push([timeOf(round, seq), valueOf(round, l, seq)]);
          }
          const body = batch
            .map(([t, v]) => JSON.stringify({ timestamp: t, device_id: device(l), metrics: { v } }))
            .join('\n');
          let reply: Reply;
          try {
            reply = await request(server.agent, `${url}/v1/points`, 'POST', body);
          } catch (err) {
            if (!killed) throw err;
            for (const [t, v] of batch) maybe[l]!.set(t, v);
            return;
          }
          if (reply.status === 429) {
            await sleep(100);
            b--;
            continue;
          }
          assert.equal(reply.status, 200, reply.body);
          const answer = JSON.parse(reply.body) as { accepted: number; errors: unknown[] };
          assert.deepEqual(answer, { accepted: POINTS_PER_BATCH, errors: [] });
          for (const [t, v] of batch) acked[l]!.set(t, v);
          ackedThisRound += POINTS_PER_BATCH;
          armed ??= sleep(delay).then(async () => {
            killed = true;
            await kill(server);
          });
        }
      };
      await Promise.all(Array.from({ length: LOOPS }, (_, l) => loop(l)));
      // All loops finished before the delay ran out: the kill still comes, while idle.
      if (armed) await armed;
      else await kill(server);
      return ackedThisRound;
    }

    try {
      let server = await start();
      for (let round = 0; round < ROUNDS; round++) {
        const n = await ingestAndKill(server, round);
        assert.ok(n > 0, `round ${round} acknowledged something`);
        server = await start();
        const stored = await verify(server, round);
        t.diagnostic(`round ${round}: ${n} points acked, ${stored} stored in all`);
      }
      server.child.kill('SIGTERM');
      const [code] = await server.exited;
      live.delete(server);
      server.agent.destroy();
      assert.equal(code, 0, server.log());
    } finally {
      for (const server of live) {
        server.child.kill('SIGKILL');
        await server.exited;
        server.agent.destroy();
      }
      await rm(dir, { recursive: true, force: true });
    }
  },
);
