/**
 * `npm run bench:start`: how fast `vigil serve --no-demo` is ready and how much memory it holds.
 *
 * Starts the server BENCH_START_RUNS (5) times on a new data directory and as many times on an
 * existing one (the first run's), each time until its `vigil serving` log line (ready), then
 * reads its RSS (/proc/<pid>/status) at ready and BENCH_START_IDLE_S (10) seconds later, and
 * stops it with SIGTERM. Also the CPU time the process used until ready (/proc/<pid>/stat, all
 * its threads): on a loaded machine the wall time to ready stretches with the load, the CPU time
 * hardly. BENCH_START_CLI runs another build's `dist/cli/main.js` (side by side comparisons).
 * Node flags: those of `npm start` (`--max-semi-space-size=32`), or BENCH_START_NODE_FLAGS
 * (space-separated). Prints medians, then one line to parse: `start_new_ms=<n>
 * start_existing_ms=<n> cpu_new_ms=<n> cpu_existing_ms=<n> rss_ready_mb=<n> rss_idle_mb=<n>`
 * (RSS: existing dir).
 * With BENCH_START_DATABASE_URL (a PostgreSQL server URL) it also starts with `--database-url`
 * on a new database and then on that existing one, to show what the embedded store costs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const MAIN =
  process.env.BENCH_START_CLI ?? fileURLToPath(new URL('../cli/main.js', import.meta.url));
const RUNS = Number(process.env.BENCH_START_RUNS ?? 5);
const IDLE_S = Number(process.env.BENCH_START_IDLE_S ?? 10);
const DATABASE_URL = process.env.BENCH_START_DATABASE_URL;
const FLAGS = (process.env.BENCH_START_NODE_FLAGS ?? '--max-semi-space-size=32')
  .split(' ')
  .filter((f) => f !== '');

interface Run {
  readonly readyMs: number;
  /** User + system CPU time of the whole process until ready. */
  readonly cpuMs: number;
  readonly rssReadyMb: number;
  readonly rssIdleMb: number;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** utime + stime of the process (all threads), fields 14 and 15 of /proc/<pid>/stat. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15, counted from 3
  return (ticks * 1000) / 100; // USER_HZ: 100 on Linux
}

/** `--data-dir <dir>` for the embedded store, or `--database-url <url>` for PostgreSQL. */
type StoreArgs = readonly string[];

function startOnce(store: StoreArgs): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [...FLAGS, MAIN, 'serve', '--no-demo', ...store, '--port', '0', '--grpc-port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let readyMs = NaN;
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (Number.isNaN(readyMs) && out.includes('"vigil serving"')) {
        readyMs = performance.now() - t0;
        void (async () => {
          const cpu = await cpuMs(child.pid!);
          const rssReadyMb = await rssMb(child.pid!);
          await new Promise((r) => setTimeout(r, IDLE_S * 1000));
          const rssIdleMb = await rssMb(child.pid!);
          child.kill('SIGTERM');
          child.once('exit', () => resolve({ readyMs, cpuMs: cpu, rssReadyMb, rssIdleMb }));
        })().catch(reject);
      }
    });
    child.on('exit', (code) => {
      if (Number.isNaN(readyMs)) reject(new Error(`vigil serve exited ${code}: ${err}${out}`));
    });
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function databaseUrl(name: string): string {
  const url = new URL(DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The same runs on PostgreSQL: a new database per "new" run, the first one kept. */
async function postgresRuns(): Promise<{ fresh: Run[]; existing: Run[] }> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const names = Array.from({ length: RUNS }, (_, i) => `vigil_bench_start_${process.pid}_${i}`);
  const fresh: Run[] = [];
  const existing: Run[] = [];
  try {
    for (const name of names) {
      await admin.query(`CREATE DATABASE ${name}`);
      fresh.push(await startOnce(['--database-url', databaseUrl(name)]));
      process.stderr.write(`postgres, new database: ${fresh.at(-1)!.readyMs.toFixed(0)} ms\n`);
    }
    for (let i = 0; i < RUNS; i++) {
      existing.push(await startOnce(['--database-url', databaseUrl(names[0]!)]));
      process.stderr.write(`postgres, existing: ${existing.at(-1)!.readyMs.toFixed(0)} ms\n`);
    }
  } finally {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  return { fresh, existing };
}

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'vigil-bench-start-'));
  const fresh: Run[] = [];
  const existing: Run[] = [];
  try {
    const kept = path.join(root, 'kept');
    for (let i = 0; i < RUNS; i++) {
      const dir = i === 0 ? kept : path.join(root, `new-${i}`);
      fresh.push(await startOnce(['--data-dir', dir]));
      process.stderr.write(
        `new data dir ${i + 1}/${RUNS}: ${fresh.at(-1)!.readyMs.toFixed(0)} ms\n`,
      );
      if (i > 0) await rm(dir, { recursive: true, force: true });
    }
    for (let i = 0; i < RUNS; i++) {
      existing.push(await startOnce(['--data-dir', kept]));
      process.stderr.write(
        `existing data dir ${i + 1}/${RUNS}: ${existing.at(-1)!.readyMs.toFixed(0)} ms\n`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const row = (name: string, runs: readonly Run[]) =>
    [
      name,
      median(runs.map((r) => r.readyMs)).toFixed(0),
      median(runs.map((r) => r.cpuMs)).toFixed(0),
      median(runs.map((r) => r.rssReadyMb)).toFixed(0),
      median(runs.map((r) => r.rssIdleMb)).toFixed(0),
    ].join('\t');
  console.log(`node flags: ${FLAGS.join(' ') || '(none)'}; medians of ${RUNS} runs`);
  console.log(
    ['data dir', 'ready ms', 'CPU ms to ready', 'RSS at ready MB', `RSS ${IDLE_S} s later MB`].join(
      '\t',
    ),
  );
  console.log(row('new', fresh));
  console.log(row('existing', existing));
  const onPostgres = DATABASE_URL === undefined ? undefined : await postgresRuns();
  if (onPostgres !== undefined) {
    console.log(row('postgres, new database', onPostgres.fresh));
    console.log(row('postgres, existing', onPostgres.existing));
  }
  console.log(
    `start_new_ms=${median(fresh.map((r) => r.readyMs)).toFixed(0)}` +
      ` start_existing_ms=${median(existing.map((r) => r.readyMs)).toFixed(0)}` +
      ` cpu_new_ms=${median(fresh.map((r) => r.cpuMs)).toFixed(0)}` +
      ` cpu_existing_ms=${median(existing.map((r) => r.cpuMs)).toFixed(0)}` +
      ` rss_ready_mb=${median(existing.map((r) => r.rssReadyMb)).toFixed(0)}` +
      ` rss_idle_mb=${median(existing.map((r) => r.rssIdleMb)).toFixed(0)}` +
      (onPostgres === undefined
        ? ''
        : ` pg_start_new_ms=${median(onPostgres.fresh.map((r) => r.readyMs)).toFixed(0)}` +
          ` pg_start_existing_ms=${median(onPostgres.existing.map((r) => r.readyMs)).toFixed(0)}` +
          ` pg_rss_idle_mb=${median(onPostgres.existing.map((r) => r.rssIdleMb)).toFixed(0)}`),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
