/**
 * `npm run bench:ingest`: end-to-end ingest through a real `vigil serve` process, driven by a load
 * generator in another process (src/bench/ingest-load.ts) over real sockets on 127.0.0.1.
 *
 * For each backend (PGlite data directory; PostgreSQL in a temporary database) and transport
 * (gRPC batches of 1,000 points, gRPC one point per message, HTTP NDJSON batches of 1,000):
 *   1. max: closed loop (8 batches / 2,000 single points / 8 HTTP requests in flight) for
 *      BENCH_MAX_SECONDS; its end-to-end rate is the maximum sustainable load;
 *   2. 50 % and 100 % of it: open loop (fixed send schedule) for BENCH_SECONDS each.
 * End-to-end = points acknowledged ÷ (first send → the server's `vigil_engine_queued_points`
 * back at 0, i.e. every point stored and scored). Ack latency is per request, from its scheduled
 * send time. On PostgreSQL the stored row count is checked, and the rows of the gRPC-batch 100 %
 * phase are also loaded with `psql \copy` into an empty copy of the points table (the limit).
 *
 * The gRPC transports are also run closed-loop against a bare grpc-js server of the same service
 * that acks on arrival (src/bench/bare-grpc-server.ts): the limit of the transport and load
 * generator on this machine, which Vigil's maximum is reported as a ratio to.
 *
 * Every backend runs once per scoring-worker setting (BENCH_WORKERS, `engine.workers` of the
 * server's config file), side by side, with the ratios to `workers: 0` at the end.
 *
 * Env: BENCH_RUNS (1; cells are medians over runs), BENCH_SECONDS (8), BENCH_MAX_SECONDS (6),
 * BENCH_MAX_POINTS (3,000,000 per phase), BENCH_BACKENDS (pglite,postgres), BENCH_TRANSPORTS
 * (grpc-batch,grpc-point,http), BENCH_WORKERS (0,1), DATABASE_URL (postgresql://postgres@127.0.0.1:5432/test; the
 * bench creates and drops vigil_bench_<pid>_<run> on that server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { copyRows, type LoadResult } from './ingest-data.js';
import { psqlCopy } from './psql-copy.js';
import { VigilError } from '../errors.js';
import { sleep } from '../timing/sleep.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 6);
const MAX_POINTS = Number(process.env.BENCH_MAX_POINTS ?? 3_000_000);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',');
const TRANSPORTS = (process.env.BENCH_TRANSPORTS ?? 'grpc-batch,grpc-point,http').split(',');
const WORKERS = (process.env.BENCH_WORKERS ?? '0,1').split(',').map((w) => {
  const n = Number(w);
  if (!Number.isInteger(n) || n < 0) {
    throw new VigilError('VIGIL_ERR_USAGE', `BENCH_WORKERS: ${w} is not a worker count`);
  }
  return n;
});
const BASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const LOAD = fileURLToPath(new URL('./ingest-load.js', import.meta.url));
const BARE = fileURLToPath(new URL('./bare-grpc-server.js', import.meta.url));

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const databases = new Set<string>();

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * CPU seconds (user + system) of a process, and of its main thread (Linux /proc; NaN elsewhere).
 * On a shared machine this says more than wall-clock rates: work moved to worker threads shows
 * as main-thread CPU per point going down.
 */
async function cpuSeconds(pid: number | undefined): Promise<{ process: number; main: number }> {
  const read = async (file: string): Promise<number> => {
    try {
      const text = await readFile(file, 'utf8');
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
    } catch {
      return Number.NaN;
    }
  };
  if (pid === undefined) return { process: Number.NaN, main: Number.NaN };
  return {
    process: await read(`/proc/${pid}/stat`),
    main: await read(`/proc/${pid}/task/${pid}/stat`),
  };
}

function dbUrl(name: string): string {
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: BASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  databases.delete(name);
}

/** The node flags of the `vigil` bin's shebang line, so the server runs as `vigil serve` does. */
async function binNodeFlags(): Promise<string[]> {
  const first = (await readFile(MAIN, 'utf8')).split('\n', 1)[0] ?? '';
  const match = /^#!.*\bnode\b(.*)$/.exec(first);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

interface Server {
  readonly http: string;
  readonly grpc: string;
  readonly child: ChildProcess;
}

async function startServer(
  dataDir: string,
  databaseUrl: string | undefined,
  workers: number,
): Promise<Server> {
  const port = await freePort();
  const grpcPort = await freePort();
  const config = join(dataDir, 'bench-config.yaml');
  await writeFile(config, `engine:\n  workers: ${workers}\n`);
  const args = [...(await binNodeFlags()), MAIN, 'serve', '--no-demo', '--log-level', 'warn'];
  args.push('--config', config);
  args.push('--port', String(port), '--grpc-port', String(grpcPort), '--data-dir', dataDir);
  if (databaseUrl) args.push('--database-url', databaseUrl);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const http = `http://127.0.0.1:${port}`;
  const until = performance.now() + 60_000;
  while (performance.now() < until) {
    if (child.exitCode !== null) throw new Error(`vigil serve exited with ${child.exitCode}`);
    const ok = await fetch(`${http}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { http, grpc: `127.0.0.1:${grpcPort}`, child };
    await sleep(200);
  }
  throw new Error('vigil serve did not become ready within 60 s');
}

async function stopChild(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function queued(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const m = /^vigil_engine_queued_points (\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Wall-clock ms at which the engine's queue was seen empty (polled every 20 ms, ≤ 180 s). */
async function drained(http: string): Promise<number> {
  const until = performance.now() + 180_000;
  while (performance.now() < until) {
    if ((await queued(http)) === 0) return Date.now();
    await sleep(20);
  }
  throw new Error('the engine did not drain within 180 s');
}

function runLoad(args: string[], timeoutSec: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSec * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

interface Row {
  transport: string;
  backend: string;
  workers: number;
  load: string;
  offered: number;
  e2e: number;
  acks: number;
  p50: number;
  p99: number;
  points: number;
  failed: number;
  /** Server CPU ms per 1,000 points: all threads, and the main thread alone. */
  cpuAll: number;
  cpuMain: number;
}

let phaseCounter = 0;

async function phase(
  server: Server,
  transport: string,
  backend: string,
  workers: number,
  load: string,
  rate: number,
  run: number,
): Promise<{ row: Row; prefix: string }> {
  const prefix = `r${run}-w${workers}-${transport}-${load.replace(/\W/g, '')}-${phaseCounter++}`;
  const seconds = load === 'max' ? MAX_SECONDS : SECONDS;
  const args = ['--transport', transport, '--grpc', server.grpc, '--http', server.http];
  args.push('--prefix', prefix, '--seconds', String(seconds), '--max-points', String(MAX_POINTS));
  if (load === 'max') args.push('--mode', 'closed');
  else args.push('--mode', 'open', '--rate', String(Math.max(1, Math.round(rate))));
  const cpuBefore = await cpuSeconds(server.child.pid);
  const result = await runLoad(args, seconds + 120);
  const doneAt = await drained(server.http);
  const cpuAfter = await cpuSeconds(server.child.pid);
  const perKPoints = (seconds: number) => (seconds * 1e6) / Math.max(1, result.pointsAcked);
  const row: Row = {
    transport,
    backend,
    workers,
    load,
    offered: load === 'max' ? NaN : rate,
    e2e: result.pointsAcked / ((doneAt - result.startedAt) / 1000),
    acks: result.pointsAcked / ((result.endedAt - result.startedAt) / 1000),
    p50: result.p50Ms,
    p99: result.p99Ms,
    points: result.pointsAcked,
    failed: result.failed,
    cpuAll: perKPoints(cpuAfter.process - cpuBefore.process),
    cpuMain: perKPoints(cpuAfter.main - cpuBefore.main),
  };
  log(
    `${backend} workers=${workers} ${transport} ${load}: ${Math.round(row.e2e)} points/s end-to-end, ` +
      `acks ${Math.round(row.acks)}/s, p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, ` +
      `server CPU ${row.cpuAll.toFixed(1)} ms per 1k points (main thread ${row.cpuMain.toFixed(1)})` +
      (row.failed > 0 ? `, ${row.failed} requests failed` : ''),
  );
  return { row, prefix };
}

/** The bare grpc-js server's port, once it printed it. */
function startBare(): Promise<{ child: ChildProcess; grpc: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BARE], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    child.on('error', reject);
    child.stdout?.once('data', (d: Buffer) =>
      resolve({ child, grpc: `127.0.0.1:${d.toString().trim()}` }),
    );
  });
}

/** Acks per second of the same closed-loop load against the bare server (the transport limit). */
async function bareLimit(transport: string): Promise<number> {
  const bare = await startBare();
  try {
    const args = ['--transport', transport, '--grpc', bare.grpc, '--prefix', 'bare'];
    args.push('--mode', 'closed', '--seconds', String(MAX_SECONDS));
    args.push('--max-points', String(MAX_POINTS));
    const result = await runLoad(args, MAX_SECONDS + 120);
    const rate = result.pointsAcked / ((result.endedAt - result.startedAt) / 1000);
    log(`bare grpc-js server, ${transport}: ${Math.round(rate)} points/s acknowledged`);
    return rate;
  } finally {
    await stopChild(bare.child);
  }
}

async function cleanup(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 10_000)));
  for (const name of [...databases]) await dropDatabase(name).catch(() => {});
  for (const dir of [...tempDirs]) await rm(dir, { recursive: true, force: true });
  tempDirs.clear();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

const rows: Row[] = [];
const copyRuns: { rate: number; e2e: number; workers: number }[] = [];
const bareRuns = new Map<string, number[]>();
try {
  for (let run = 0; run < RUNS; run++) {
    for (const transport of TRANSPORTS.filter((t) => t.startsWith('grpc'))) {
      bareRuns.set(transport, [...(bareRuns.get(transport) ?? []), await bareLimit(transport)]);
    }
    for (const [backend, workers] of BACKENDS.flatMap((b) => WORKERS.map((w) => [b, w] as const))) {
      const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-ingest-'));
      tempDirs.add(dir);
      let url: string | undefined;
      const dbName = `vigil_bench_${process.pid}_${run}_w${workers}`;
      if (backend === 'postgres') {
        await adminQuery(`CREATE DATABASE ${dbName}`);
        databases.add(dbName);
        url = dbUrl(dbName);
      }
      const server = await startServer(dir, url, workers);
      let copySource: { prefix: string; points: number; e2e: number } | undefined;
      let expected = 0;
      try {
        for (const transport of TRANSPORTS) {
          const max = await phase(server, transport, backend, workers, 'max', 0, run);
          rows.push(max.row);
          expected += max.row.points;
          for (const [load, f] of [
            ['50 %', 0.5],
            ['100 %', 1],
          ] as const) {
            const r = await phase(server, transport, backend, workers, load, max.row.e2e * f, run);
            rows.push(r.row);
            expected += r.row.points;
            if (transport === 'grpc-batch' && f === 1) {
              copySource = { prefix: r.prefix, points: r.row.points, e2e: r.row.e2e };
            }
          }
        }
      } finally {
        await stopChild(server.child);
      }
      if (url !== undefined) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const { rows: count } = await client.query<{ n: string }>(
            'SELECT count(*)::text AS n FROM points',
          );
          const stored = Number(count[0]?.n ?? 0);
          log(
            `postgres workers=${workers}: ${stored} rows stored, ${expected} points acknowledged`,
          );
          if (stored !== expected) log('WARNING: stored rows differ from acknowledged points');
          if (copySource !== undefined) {
            await client.query('CREATE TABLE copy_limit (LIKE points INCLUDING ALL)');
            const file = join(dir, 'rows.copy');
            // At least 1,000,000 rows, so psql's start-up does not dominate.
            const n = Math.max(copySource.points, 1_000_000);
            await writeFile(file, copyRows(copySource.prefix, 0, n));
            const seconds = await psqlCopy(url, file, 'copy_limit', (child) => {
              children.add(child);
              child.once('exit', () => children.delete(child));
            });
            const rate = n / seconds;
            log(`psql \\copy of ${n} rows of the same series: ${Math.round(rate)} rows/s`);
            copyRuns.push({ rate, e2e: copySource.e2e, workers });
          }
        } finally {
          await client.end();
        }
        await dropDatabase(dbName);
      }
      await rm(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    }
  }
} finally {
  await cleanup();
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};
const fmt = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '—');
const copyRate = median(copyRuns.map((c) => c.rate));

const target = (transport: string, backend: string): string =>
  backend !== 'postgres'
    ? ''
    : transport === 'grpc-batch'
      ? '≥ 200,000'
      : transport === 'grpc-point'
        ? '≥ 50,000'
        : '';

const cells = new Map<string, Row[]>();
for (const r of rows) {
  const key = `${r.transport}|${r.backend}|${r.workers}|${r.load}`;
  cells.set(key, [...(cells.get(key) ?? []), r]);
}
const lines = [
  `vigil serve (--no-demo) + load generator in another process, 127.0.0.1; batches of 1,000 ` +
    `points (1 metric each); max = closed loop ${MAX_SECONDS} s; 50 %/100 % = open loop ` +
    `${SECONDS} s at that share of max's end-to-end rate; median of ${RUNS} run(s)`,
  '',
  '| transport | backend | workers | load | offered points/s | end-to-end points/s | target | acks points/s | p50 ack ms | p99 ack ms (target at 50 %: ≤ 20) | × psql \\copy | server CPU ms / 1k points | of it main thread |',
  '|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|',
];
for (const [, group] of cells) {
  const first = group[0]!;
  const e2e = median(group.map((r) => r.e2e));
  lines.push(
    `| ${first.transport} | ${first.backend} | ${first.workers} | ${first.load} | ${fmt(median(group.map((r) => r.offered)))} | ` +
      `${fmt(e2e)} | ${target(first.transport, first.backend)} | ${fmt(median(group.map((r) => r.acks)))} | ` +
      `${ms(median(group.map((r) => r.p50)))} | ${ms(median(group.map((r) => r.p99)))} | ` +
      `${first.backend === 'postgres' && first.load !== '50 %' && Number.isFinite(copyRate) ? (e2e / copyRate).toFixed(2) : ''} | ` +
      `${ms(median(group.map((r) => r.cpuAll)))} | ${ms(median(group.map((r) => r.cpuMain)))} |`,
  );
}
for (const workers of WORKERS) {
  const mine = copyRuns.filter((c) => c.workers === workers);
  if (mine.length === 0 || !Number.isFinite(copyRate)) continue;
  lines.push(
    '',
    `workers ${workers}: psql \\copy of the gRPC-batch 100 % rows (at least 1,000,000) into an ` +
      `empty copy of the points table: ${fmt(copyRate)} rows/s; gRPC batches end-to-end at ` +
      `100 % ÷ that = ${(median(mine.map((c) => c.e2e)) / copyRate).toFixed(2)} (target ≥ 0.7)`,
  );
}
if (bareRuns.size > 0) {
  lines.push(
    '',
    'The gRPC transport limit: the same closed-loop load against a bare grpc-js server of the ' +
      'Ingest service that acks every request on arrival (src/bench/bare-grpc-server.ts).',
    '',
    '| transport | bare server acks points/s | backend | workers | Vigil end-to-end at max ÷ bare |',
    '|---|---:|---|---:|---:|',
  );
  for (const [transport, rates] of bareRuns) {
    const bare = median(rates);
    for (const [, group] of cells) {
      const first = group[0]!;
      if (first.transport !== transport || first.load !== 'max') continue;
      lines.push(
        `| ${transport} | ${fmt(bare)} | ${first.backend} | ${first.workers} | ` +
          `${(median(group.map((r) => r.e2e)) / bare).toFixed(2)} |`,
      );
    }
  }
}
// Side by side: each worker setting against workers 0, same transport, backend and load.
const baseline = WORKERS.includes(0) ? 0 : undefined;
if (baseline !== undefined && WORKERS.length > 1) {
  lines.push(
    '',
    '| transport | backend | load | workers | end-to-end ÷ workers 0 | p99 ack ÷ workers 0 | main-thread CPU per point ÷ workers 0 |',
    '|---|---|---|---:|---:|---:|---:|',
  );
  for (const [key, group] of cells) {
    const first = group[0]!;
    if (first.workers === baseline) continue;
    const base = cells.get(key.replace(`|${first.workers}|`, `|${baseline}|`));
    if (base === undefined) continue;
    const ratio = (f: (r: Row) => number) =>
      (median(group.map(f)) / median(base.map(f))).toFixed(2);
    lines.push(
      `| ${first.transport} | ${first.backend} | ${first.load} | ${first.workers} | ` +
        `${ratio((r) => r.e2e)} | ${ratio((r) => r.p99)} | ${ratio((r) => r.cpuMain)} |`,
    );
  }
}
process.stdout.write(lines.join('\n') + '\n');
