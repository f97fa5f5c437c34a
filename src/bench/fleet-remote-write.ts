/**
 * `npm run bench:fleet-remote-write`: a Prometheus-shaped fleet over remote-write against a real
 * `vigil serve` process (issue 14, target 3: 1M series × one sample every 15 s = 66,700
 * samples/s for 10 minutes, p99 ack ≤ 100 ms, RSS flat within ±10 % after warm-up).
 *
 * Usage: node dist/bench/fleet-remote-write.js [--series 1000000] [--minutes 10]
 *   [--warmup-minutes 2] [--interval-s 15] [--per-request 2000] [--strategy fast|default]
 *   [--workers 1] [--max-in-flight 50] [--database-url postgresql://…]
 *
 * Series are `instance="host-<d>"` (the device) × 50 metric names; every interval each series
 * gets one sample, sent as Prometheus does: snappy-compressed WriteRequests of `--per-request`
 * samples (its `max_samples_per_send`), on a fixed schedule spread evenly over the interval (open
 * loop, so a slow server is not hidden by a slower sender), at most `--max-in-flight` at once
 * (Prometheus's shards, `max_shards`; 0 = no limit): a request due while all are busy waits, and
 * its wait counts in its latency. A request answered 429/503 is sent
 * again after its Retry-After, as Prometheus retries. Ack latency is measured from the request's
 * scheduled time to its 2xx. The server's VmRSS is read every 10 s. The store is a new PostgreSQL
 * database when `--database-url` is given (dropped at the end), else PGlite in a new data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { compressSync } from 'snappy';
import { encodeWriteRequest, type TimeSeries } from '../ingest/remote-write/decode.js';
import { sleep } from '../timing/sleep.js';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '1000000' },
    minutes: { type: 'string', default: '10' },
    'warmup-minutes': { type: 'string', default: '2' },
    'interval-s': { type: 'string', default: '15' },
    'per-request': { type: 'string', default: '2000' },
    strategy: { type: 'string', default: 'fast' },
    workers: { type: 'string', default: '1' },
    'max-in-flight': { type: 'string', default: '50' },
    'database-url': { type: 'string' },
  },
});

const SERIES = Number(args.series);
const METRICS = 50;
const DEVICES = Math.ceil(SERIES / METRICS);
const INTERVAL_MS = Number(args['interval-s']) * 1000;
const PER_REQUEST = Number(args['per-request']);
const DEVICES_PER_REQUEST = Math.max(1, Math.floor(PER_REQUEST / METRICS));
const REQUESTS_PER_ROUND = Math.ceil(DEVICES / DEVICES_PER_REQUEST);
const DURATION_MS = Number(args.minutes) * 60_000;
const MAX_IN_FLIGHT = Number(args['max-in-flight']);
const WARMUP_MS = Number(args['warmup-minutes']) * 60_000;
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const METRIC_NAMES = Array.from({ length: METRICS }, (_, m) => `node_metric_${m}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Request `k` of a round: devices k·n … (k+1)·n − 1, one sample per series at `time`. */
function body(k: number, time: number, round: number): Buffer {
  const timeseries: TimeSeries[] = [];
  const last = Math.min(DEVICES, (k + 1) * DEVICES_PER_REQUEST);
  for (let d = k * DEVICES_PER_REQUEST; d < last; d++) {
    const instance = `host-${d}`;
    for (let m = 0; m < METRICS && d * METRICS + m < SERIES; m++) {
      // Smooth daily-ish waves with a rare spike, different per series.
      const value =
        Math.sin(round / (20 + m) + d) * (1 + m) + ((round * 7 + d + m) % 4099 === 0 ? 25 : 0);
      timeseries.push({
        labels: [
          { name: '__name__', value: METRIC_NAMES[m]! },
          { name: 'instance', value: instance },
          { name: 'job', value: 'node' },
        ],
        samples: [{ value, timestamp: time }],
      });
    }
  }
  return compressSync(Buffer.from(encodeWriteRequest({ timeseries })));
}

interface Sent {
  /** ms from the scheduled send to the 2xx (retries included). */
  readonly latency: number;
  readonly at: number;
  readonly retries: number;
}

async function send(url: string, payload: Buffer, scheduled: number): Promise<Sent> {
  let retries = 0;
  for (;;) {
    const res = await fetch(url, {
      method: 'POST',
      body: payload,
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
      },
    });
    await res.arrayBuffer();
    if (res.ok) return { latency: performance.now() - scheduled, at: performance.now(), retries };
    if (res.status !== 429 && res.status !== 503) {
      throw new Error(`remote-write answered ${res.status}`);
    }
    retries++;
    await sleep(Math.min(5_000, Number(res.headers.get('retry-after') ?? 1) * 1000));
  }
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '—';

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-fleet-rw-'));
  const adminUrl = args['database-url'];
  const dbName = `vigil_fleet_rw_${process.pid}`;
  let child: ChildProcess | undefined;
  try {
    let databaseUrl: string | undefined;
    if (adminUrl !== undefined) {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${dbName}`;
      databaseUrl = url.toString();
    }
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      [
        'engine:',
        `  workers: ${Number(args.workers)}`,
        `  max_series: ${SERIES + 1000}`,
        `  max_series_per_device: ${METRICS + 10}`,
      ].join('\n') + '\n',
    );
    const serveArgs = [MAIN, 'serve', '--no-demo', '--log-level', 'warn', '--config', config];
    const port = await freePort();
    serveArgs.push('--port', String(port), '--grpc-port', '0', '--data-dir', join(dir, 'data'));
    if (databaseUrl !== undefined) serveArgs.push('--database-url', databaseUrl);
    if (args.strategy !== 'default') {
      // Every series under the named built-in strategy (no trigger rules: it applies to all).
      const strategies = join(dir, 'strategies');
      await mkdir(strategies);
      const builtin = fileURLToPath(
        new URL(`../../strategies/${args.strategy}.yaml`, import.meta.url),
      );
      await writeFile(join(strategies, 'fleet.yaml'), await readFile(builtin, 'utf8'));
      serveArgs.push('--strategies', strategies);
    }
    child = spawn(process.execPath, ['--max-old-space-size=16000', ...serveArgs], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`vigil serve exited with ${child.exitCode}`);
      if (
        await fetch(`${base}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 600) throw new Error('vigil serve did not become ready within 60 s');
      await sleep(100);
    }
    const pid = child.pid!;
    const url = `${base}/api/v1/write`;
    const rss: { at: number; mb: number }[] = [];
    const sent: Sent[] = [];
    const inFlight = new Set<Promise<void>>();
    let maxInFlight = 0;
    let failures = 0;
    const t0 = performance.now();
    const rssTimer = setInterval(() => {
      void rssMb(pid).then(
        (mb) => rss.push({ at: performance.now() - t0, mb }),
        () => undefined,
      );
    }, 10_000);
    const gap = INTERVAL_MS / REQUESTS_PER_ROUND;
    process.stderr.write(
      `${fmt(SERIES)} series, ${fmt(DEVICES)} instances × ${METRICS} metrics, ` +
        `${fmt(REQUESTS_PER_ROUND)} requests of ≤ ${PER_REQUEST} samples every ${INTERVAL_MS / 1000} s ` +
        `(${fmt(SERIES / (INTERVAL_MS / 1000))} samples/s), ${args.minutes} min\n`,
    );
    const wallStart = Date.now();
    for (let n = 0; ; n++) {
      const scheduled = t0 + n * gap;
      if (scheduled - t0 >= DURATION_MS) break;
      const wait = scheduled - performance.now();
      if (wait > 1) await sleep(wait);
      // All shards busy: wait for one (the request stays late from its scheduled time).
      while (MAX_IN_FLIGHT > 0 && inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      const round = Math.floor(n / REQUESTS_PER_ROUND);
      const k = n % REQUESTS_PER_ROUND;
      const payload = body(k, wallStart + round * INTERVAL_MS, round);
      const p = send(url, payload, scheduled).then(
        (s) => void sent.push(s),
        (error: unknown) => {
          failures++;
          if (failures <= 5) process.stderr.write(`request failed: ${String(error)}\n`);
        },
      );
      const tracked: Promise<void> = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      maxInFlight = Math.max(maxInFlight, inFlight.size);
      if (n % (REQUESTS_PER_ROUND * 4) === 0 && n > 0) {
        const last = sent
          .slice(-REQUESTS_PER_ROUND)
          .map((s) => s.latency)
          .sort((a, b) => a - b);
        process.stderr.write(
          `${((performance.now() - t0) / 1000).toFixed(0)} s: p99 ack ${fmt(percentile(last, 99), 1)} ms, ` +
            `in flight ${inFlight.size}, RSS ${fmt(rss.at(-1)?.mb ?? NaN)} MB\n`,
        );
      }
    }
    await Promise.all(inFlight);
    clearInterval(rssTimer);
    const elapsedS = (performance.now() - t0) / 1000;

    const measured = sent.filter((s) => s.at - t0 >= WARMUP_MS);
    const latencies = measured.map((s) => s.latency).sort((a, b) => a - b);
    const after = rss.filter((r) => r.at >= WARMUP_MS);
    const rssWarm = after[0]?.mb ?? NaN;
    const rssEnd = after.at(-1)?.mb ?? NaN;
    const rssMin = Math.min(...after.map((r) => r.mb));
    const rssMax = Math.max(...after.map((r) => r.mb));
    const samples = sent.length * PER_REQUEST;
    const behindS = (performance.now() - t0 - DURATION_MS) / 1000;
    const rows: [string, string][] = [
      [
        'series / store / strategy',
        `${fmt(SERIES)} / ${databaseUrl ? 'PostgreSQL' : 'PGlite'} / ${args.strategy}`,
      ],
      ['samples/s offered', fmt(SERIES / (INTERVAL_MS / 1000))],
      ['samples acknowledged (≈), per s', `${fmt(samples)}, ${fmt(samples / elapsedS)}`],
      [
        'requests: sent, retried, failed',
        `${fmt(sent.length)}, ${fmt(sent.filter((s) => s.retries > 0).length)}, ${fmt(failures)}`,
      ],
      [
        `ack ms after warm-up (${args['warmup-minutes']} min): p50 / p99 / max`,
        `${fmt(percentile(latencies, 50), 1)} / ${fmt(percentile(latencies, 99), 1)} / ${fmt(latencies.at(-1) ?? NaN, 1)}`,
      ],
      ['most requests in flight', fmt(maxInFlight)],
      ['last ack after the schedule ended', `${fmt(behindS, 1)} s`],
      [
        'server RSS after warm-up / end (min–max)',
        `${fmt(rssWarm)} / ${fmt(rssEnd)} MB (${fmt(rssMin)}–${fmt(rssMax)}), ${fmt(((rssMax - rssMin) / rssWarm) * 100, 1)} % spread`,
      ],
    ];
    process.stdout.write('| measure | value |\n|---|---|\n');
    for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
  } finally {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
    if (adminUrl !== undefined) {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
