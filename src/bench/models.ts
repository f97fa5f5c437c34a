/**
 * `npm run bench:models`: predict throughput of a small served model over HTTP against the bare
 * in-process `session.run` rate of the same model, its upper limit.
 *
 * The server is a real `vigil serve --models DIR` child process; the load comes from another
 * child (models-load.ts), `concurrency` requests in flight over keep-alive connections. The bare
 * rate is measured in this process afterwards, with the server idle: the same model, the same
 * session options (1 intra-op thread), a tensor built per call as the server does. The model is
 * the autoencoder Vigil trained for its fixtures (input [N, 8]); one row per request (the
 * per-request cost) and 64 rows per request (closer to the runtime's own speed). `GET /healthz`
 * on the same server and client is reported as the floor of HTTP alone.
 *
 *   npm run bench:models [-- --seconds 8 --concurrency 16]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { TINY_AUTOENCODER } from '../serving/test-models.js';
import { sleep } from '../timing/sleep.js';
import type { ModelLoadResult } from './models-load.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const LOAD = fileURLToPath(new URL('./models-load.js', import.meta.url));
const WINDOW = 8;

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '16' },
    batches: { type: 'string', default: '1,64' },
  },
});
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);
const batches = args.batches.split(',').map(Number);

const children = new Set<ChildProcess>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Deterministic windows: a sine with a little seeded wobble. */
function windows(rows: number): number[] {
  return Array.from({ length: rows * WINDOW }, (_, i) => {
    const wobble = ((i * 2654435761) % 1000) / 10_000;
    return Math.round((Math.sin(i / 3) + wobble) * 1e4) / 1e4;
  });
}

async function startServer(dataDir: string, modelDir: string): Promise<string> {
  const port = await freePort();
  const grpcPort = await freePort();
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--no-demo', '--log-level', 'warn', '--port', String(port)].concat([
      '--grpc-port',
      String(grpcPort),
      '--data-dir',
      dataDir,
      '--models',
      modelDir,
    ]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const until = performance.now() + 120_000;
  while (performance.now() < until) {
    if (child.exitCode !== null) throw new Error(`vigil serve exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/v1/models/tiny`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return url;
    await sleep(200);
  }
  throw new Error('vigil serve did not serve the model within 120 s');
}

function runLoad(loadArgs: string[]): Promise<ModelLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, ...loadArgs], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ModelLoadResult);
    });
  });
}

interface Bare {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Sequential awaited runs for `seconds`: the rate one session gives one caller. */
async function bareRate(
  session: InferenceSession,
  rows: number,
  forSeconds: number,
): Promise<Bare> {
  const data = Float32Array.from(windows(rows));
  const latencies: number[] = [];
  const warmEnd = performance.now() + 500;
  while (performance.now() < warmEnd) {
    await session.run({ window: new Tensor('float32', data.slice(), [rows, WINDOW]) });
  }
  const started = performance.now();
  const end = started + forSeconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await session.run({ window: new Tensor('float32', data.slice(), [rows, WINDOW]) });
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { perSecond: latencies.length / elapsed, p50Ms: q(0.5), p99Ms: q(0.99) };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-models-'));
  try {
    const modelDir = path.join(dir, 'models');
    await mkdir(modelDir);
    await copyFile(TINY_AUTOENCODER, path.join(modelDir, 'tiny.onnx'));
    const [load1] = loadavg();
    console.log(
      `bench:models — ${cpus().length} CPUs, load average ${load1!.toFixed(2)} at start, ` +
        `${concurrency} requests in flight, ${seconds} s per run`,
    );
    const url = await startServer(path.join(dir, 'data'), modelDir);
    const http: ModelLoadResult[] = [];
    for (const rows of batches) {
      const bodyFile = path.join(dir, `body-${rows}.json`);
      const matrix = windows(rows);
      await writeFile(
        bodyFile,
        JSON.stringify({ inputs: { window: { dims: [rows, WINDOW], data: matrix } } }),
      );
      http.push(
        await runLoad([
          '--url',
          `${url}/v1/models/tiny/predict`,
          '--body-file',
          bodyFile,
          '--concurrency',
          String(concurrency),
          '--seconds',
          String(seconds),
        ]),
      );
    }
    // The floor: the same server and client answering GET /healthz, no body, no model.
    const floor = await runLoad([
      '--url',
      `${url}/healthz`,
      '--method',
      'GET',
      '--concurrency',
      String(concurrency),
      '--seconds',
      String(seconds),
    ]);
    for (const child of children) child.kill('SIGTERM');
    await sleep(500);

    const session = await InferenceSession.create(TINY_AUTOENCODER, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    const bare: Bare[] = [];
    for (const rows of batches) bare.push(await bareRate(session, rows, Math.min(seconds, 4)));
    await session.release();

    console.log(
      '\n| rows/request | HTTP req/s | HTTP p50 ms | HTTP p99 ms | failed | bare run/s | bare p50 ms | HTTP / bare |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    batches.forEach((rows, i) => {
      const h = http[i]!;
      const b = bare[i]!;
      const rate = h.requests / h.seconds;
      console.log(
        `| ${rows} | ${fmt(rate)} | ${fmt(h.p50Ms, 2)} | ${fmt(h.p99Ms, 2)} | ${h.failed} | ` +
          `${fmt(b.perSecond)} | ${fmt(b.p50Ms, 3)} | ${fmt((rate / b.perSecond) * 100, 1)} % |`,
      );
    });
    console.log(
      `\nFloor, GET /healthz on the same server and client: ${fmt(floor.requests / floor.seconds)} req/s, ` +
        `p50 ${fmt(floor.p50Ms, 2)} ms, p99 ${fmt(floor.p99Ms, 2)} ms`,
    );
    console.log(`\nload average ${loadavg()[0]!.toFixed(2)} at the end (the machine is shared)`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
