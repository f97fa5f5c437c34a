/**
 * `npm run bench:cluster`: end-to-end throughput and ack latency of the cluster roles against one
 * `--role all` process, on this machine, over the local nats-server and PostgreSQL. For each
 * layout, a closed loop of HTTP batches (`WINDOW` in flight, round-robin over the ingest nodes)
 * sends `POINTS` points of `DEVICES` devices; it reports the ack rate and p50/p99 ack latency,
 * the end-to-end rate (first send to the last point stored in PostgreSQL), and the CPU the Vigil
 * processes spent per point (from /proc). docs/cluster.md, "Scaling".
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { IngestPoint } from '../engine/engine.js';
import {
  caughtUp,
  dropDatabase,
  freshDatabase,
  pgQuery,
  postBatch,
  removeStreams,
} from '../cluster/testing/harness.js';
import { NodeProcess } from '../cluster/testing/node-process.js';
import { sleep } from '../timing/sleep.js';

const NATS = 'nats://127.0.0.1:4222';
const POINTS = Number(process.env.BENCH_POINTS ?? 200_000);
const BATCH = 500;
const WINDOW = 8;
const DEVICES = 2000;
const PARTITIONS = 64;
const T0 = Date.UTC(2026, 0, 1);

interface Layout {
  readonly name: string;
  readonly ingest: number;
  readonly scorers: number;
}

const layouts: Layout[] = [
  { name: 'one process (--role all)', ingest: 0, scorers: 0 },
  { name: '1 ingest + 1 scorer', ingest: 1, scorers: 1 },
  { name: '1 ingest + 2 scorers', ingest: 1, scorers: 2 },
  { name: '2 ingest + 2 scorers', ingest: 2, scorers: 2 },
];

/** Batch `i`: BATCH points, devices in turn, each device's points in time order. */
function batch(i: number): IngestPoint[] {
  return Array.from({ length: BATCH }, (_, j) => {
    const n = i * BATCH + j;
    return {
      timestamp: T0 + Math.floor(n / DEVICES) * 1000,
      device_id: `bench-${n % DEVICES}`,
      metrics: { v: Math.sin(n / 97) * 10 + (n % 13) },
    };
  });
}

/** CPU seconds (user + system) a process has used. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function run(layout: Layout, dir: string, n: number): Promise<string> {
  const database = `vigil_bench_cluster_${process.pid}_${n}`;
  const stream = `VIGIL_BENCH_${process.pid}_${n}`;
  const url = await freshDatabase(database);
  const config = path.join(dir, `${n}.yaml`);
  await writeFile(
    config,
    `cluster:\n  stream: ${stream}\n  partitions: ${PARTITIONS}\n  lease_ttl_ms: 5000\n`,
  );
  const nodes: NodeProcess[] = [];
  const start = async (role: 'all' | 'ingest' | 'scorer'): Promise<NodeProcess> => {
    const node = await NodeProcess.start({
      role,
      ...(role === 'all' ? {} : { nats: NATS }),
      databaseUrl: url,
      dataDir: path.join(dir, `${n}-${nodes.length}`),
      configFile: config,
    });
    nodes.push(node);
    return node;
  };
  try {
    const entry: NodeProcess[] = [];
    const scorers: NodeProcess[] = [];
    if (layout.ingest === 0) entry.push(await start('all'));
    for (let i = 0; i < layout.scorers; i++) scorers.push(await start('scorer'));
    for (let i = 0; i < layout.ingest; i++) entry.push(await start('ingest'));
    if (scorers.length > 0) await caughtUp(scorers, PARTITIONS);
    const cpu0 = await Promise.all(nodes.map((node) => cpuSeconds(node.pid)));
    const requests = Math.ceil(POINTS / BATCH);
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: WINDOW }, async () => {
        for (let i = next++; i < requests; i = next++) {
          const body = batch(i);
          const sent = performance.now();
          await postBatch((entry[i % entry.length] as NodeProcess).url, body);
          latencies.push(performance.now() - sent);
        }
      }),
    );
    const acked = performance.now() - t0;
    const total = requests * BATCH;
    for (;;) {
      const [row] = await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM points');
      if (Number(row?.n) >= total) break;
      await sleep(100);
    }
    const stored = performance.now() - t0;
    if (process.env.BENCH_LOGS) for (const node of nodes) console.log(node.log().slice(-6000));
    const cpu1 = await Promise.all(nodes.map((node) => cpuSeconds(node.pid)));
    const cpu = cpu1.reduce((sum, c, i) => sum + c - (cpu0[i] ?? 0), 0);
    latencies.sort((a, b) => a - b);
    return [
      layout.name.padEnd(26),
      String(Math.round(total / (acked / 1000))).padStart(10),
      quantile(latencies, 0.5).toFixed(1).padStart(8),
      quantile(latencies, 0.99).toFixed(1).padStart(8),
      String(Math.round(total / (stored / 1000))).padStart(12),
      ((cpu / total) * 1e6).toFixed(1).padStart(12),
    ].join(' ');
  } finally {
    await Promise.all(nodes.map((node) => node.stop().then(() => node.kill())));
    await dropDatabase(database).catch(() => undefined);
    await removeStreams(NATS, [stream, `KV_${stream}_LEASES`]).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-cluster-'));
  console.log(
    `${POINTS} points, ${DEVICES} devices, batches of ${BATCH}, ${WINDOW} in flight, ${PARTITIONS} partitions\n`,
  );
  console.log(
    `${'layout'.padEnd(26)} ${'acked/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'stored/s'.padStart(12)} ${'CPU µs/pt'.padStart(12)}`,
  );
  try {
    const only = process.env.BENCH_LAYOUTS?.split(',').map(Number);
    for (const [n, layout] of layouts.entries()) {
      if (only === undefined || only.includes(n)) console.log(await run(layout, dir, n));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
