/**
 * The load generator of `npm run bench:models`, run as its own process so its CPU is not the
 * server's (autocannon and wrk are not installed; this is the few lines of it needed). Keeps
 * `concurrency` predict requests in flight over keep-alive connections for `seconds` and prints
 * one JSON line: requests, failures, seconds, and latency percentiles in ms.
 *
 *   node dist/bench/models-load.js --url http://127.0.0.1:8080/v1/models/m/predict \
 *     --body-file body.json --concurrency 16 --seconds 10 [--warmup 1] [--method GET]
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { VigilError } from '../errors.js';

export interface ModelLoadResult {
  readonly requests: number;
  readonly failed: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    'body-file': { type: 'string' },
    method: { type: 'string', default: 'POST' },
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
  },
});
if (args.url === undefined) throw new VigilError('VIGIL_ERR_USAGE', '--url is required');
const url = new URL(args.url);
const method = args.method;
const body = args['body-file'] === undefined ? Buffer.alloc(0) : readFileSync(args['body-file']);
const concurrency = Number(args.concurrency);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function once(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        agent,
        headers:
          method === 'GET'
            ? {}
            : { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/** `concurrency` loops, each sending its next request when the last one is answered. */
async function run(seconds: number, record: boolean) {
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await once();
      if (record) latencies.push(performance.now() - t0);
      if (!ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { latencies, failed, seconds: (performance.now() - started) / 1000 };
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

await run(Number(args.warmup), false);
const { latencies, failed, seconds } = await run(Number(args.seconds), true);
latencies.sort((a, b) => a - b);
const result: ModelLoadResult = {
  requests: latencies.length,
  failed,
  seconds,
  p50Ms: quantile(latencies, 0.5),
  p99Ms: quantile(latencies, 0.99),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
agent.destroy();
