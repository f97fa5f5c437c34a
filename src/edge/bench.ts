/**
 * `npm run bench:edge`: the edge executable (build/edge/vigil) holding 10,000 series. Starts
 * `vigil serve` from it (embedded PGlite store, loopback, no demo), feeds the series over
 * `POST /v1/points`, waits until the engine holds them all with nothing queued, and reads the
 * process's resident memory from /proc.
 *
 * Usage: node dist/edge/bench.js [--exe build/edge/vigil] [--series 10000] [--points 30]
 * Series are `gw<i>` × 10 metrics, each fed `--points` points (one sample per 15 s of event
 * time). `--exe` may name any command that runs `vigil` (e.g. a script around
 * `node dist/cli/main.js`) to compare.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../net/free-port.js';
import { sleep } from '../timing/sleep.js';

const { values: args } = parseArgs({
  options: {
    exe: { type: 'string', default: 'build/edge/vigil' },
    series: { type: 'string', default: '10000' },
    points: { type: 'string', default: '30' },
  },
});

const EXE = path.resolve(args.exe);
const SERIES = Number(args.series);
const POINTS = Number(args.points);
const METRICS = 10;
const DEVICES = Math.ceil(SERIES / METRICS);
const BATCH = 500; // points (devices) per request
const START = Date.UTC(2026, 0, 1);
const MiB = 1024 * 1024;

/** VmRSS and VmHWM (peak) of a process, in bytes. */
async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** One gauge or counter from /metrics (no labels). */
async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (match === null) throw new Error(`no ${name} in /metrics`);
  return Number(match[1]);
}

async function post(base: string, body: string, alive: () => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${base}/v1/points`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      });
    } catch (error) {
      // A kept-alive connection the server closed as it was reused: send again (points are
      // idempotent by device, metric and time); a server that is gone is an error.
      if (!alive() || attempt >= 5) throw error;
      await sleep(100);
      continue;
    }
    const text = await res.text();
    // Backpressure: the engine asks the client to come back later.
    if (res.status === 429 || res.status === 503) {
      await sleep(100);
      continue;
    }
    if (res.status !== 200) throw new Error(`POST /v1/points: ${res.status} ${text}`);
    const reply = JSON.parse(text) as { errors: unknown[] };
    if (reply.errors.length > 0) throw new Error(`points refused: ${text.slice(0, 300)}`);
    return;
  }
}

async function main(): Promise<void> {
  const size = (await stat(EXE)).size;
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-edge-'));
  const port = await freePort();
  const grpcPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(EXE, ['serve'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      VIGIL_HOST: '127.0.0.1',
      VIGIL_PORT: String(port),
      VIGIL_GRPC_PORT: String(grpcPort),
      VIGIL_DATA_DIR: path.join(dir, 'data'),
      VIGIL_DEMO: 'false',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const started = performance.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${EXE} serve exited ${child.exitCode}`);
      const ready = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      await sleep(200);
    }
    const readyMs = performance.now() - started;
    await sleep(1000);
    const idle = await memory(child.pid!);

    const fed = performance.now();
    for (let p = 0; p < POINTS; p++) {
      for (let first = 0; first < DEVICES; first += BATCH) {
        const lines: string[] = [];
        for (let d = first; d < Math.min(first + BATCH, DEVICES); d++) {
          const metrics: Record<string, number> = {};
          for (let m = 0; m < METRICS && d * METRICS + m < SERIES; m++) {
            metrics[`m${m}`] = 20 + m + Math.sin((p + d) / 5) + ((d * 7 + p * 13) % 11) / 10;
          }
          lines.push(
            JSON.stringify({ timestamp: START + p * 15_000, device_id: `gw${d}`, metrics }),
          );
        }
        await post(base, lines.join('\n'), () => child.exitCode === null);
      }
    }
    // Held: every series known to the engine, nothing waiting to be scored.
    while (
      (await metric(base, 'vigil_engine_series')) < SERIES ||
      (await metric(base, 'vigil_engine_queued_points')) > 0
    ) {
      await sleep(200);
    }
    const feedSeconds = (performance.now() - fed) / 1000;
    await sleep(2000);
    const held = await memory(child.pid!);

    const rows: [string, string][] = [
      ['executable', `${path.relative(process.cwd(), EXE)}, ${(size / MiB).toFixed(1)} MiB`],
      ['start to ready', `${(readyMs / 1000).toFixed(1)} s`],
      ['RSS idle (ready, no series)', `${(idle.rss / MiB).toFixed(0)} MiB`],
      [`series held`, `${SERIES} (${DEVICES} devices × ${METRICS} metrics, ${POINTS} points each)`],
      [
        'feed time',
        `${feedSeconds.toFixed(1)} s (${Math.round((SERIES * POINTS) / feedSeconds)} samples/s)`,
      ],
      [`RSS holding ${SERIES} series`, `${(held.rss / MiB).toFixed(0)} MiB`],
      ['RSS peak (VmHWM)', `${(held.peak / MiB).toFixed(0)} MiB`],
      ['RSS per series above idle', `${((held.rss - idle.rss) / SERIES / 1024).toFixed(1)} KiB`],
    ];
    console.log('| measure | value |\n| --- | --- |');
    for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
