/**
 * `npm run bench:mqtt`: QoS 1 messages per second through one MQTT subscription, acknowledged
 * after durability (PGlite data directory, fsynced log), and a burst that must arrive in full.
 *
 * The subscriber and engine run in this process; the publisher (MQTT.js, QoS 1) in a child
 * process so it does not share the event loop. Messages are compact payloads `v=<seq>@<ms>`
 * on `bench/<run>/<device>` (100 devices). A message counts as acknowledged when the engine
 * call holding it resolved (its PUBACK leaves then); its ack latency runs from the PUBLISH
 * packet's arrival at the subscriber.
 *
 * Phases:
 *   1. `stock`: the broker at BENCH_MQTT_URL (default the local Mosquitto, mqtt://127.0.0.1:1883,
 *      whatever its settings), closed loop: the publisher keeps at most BENCH_MQTT_WINDOW (500)
 *      messages published and not yet acknowledged by Vigil, below a stock Mosquitto's 1,000
 *      queued messages per client, for BENCH_MQTT_MESSAGES (50,000) messages.
 *   2. `fleet`: a private Mosquitto on a free port with the settings docs/integrations-influx-mqtt.md
 *      gives for fleets (`max_inflight_messages 1000`, `max_queued_messages 1000000`), closed loop
 *      with BENCH_MQTT_FLEET_WINDOW (20,000) messages in flight.
 *   3. `burst`: the same private broker, BENCH_MQTT_BURST (100,000) messages published as fast as
 *      the publisher can, open loop; every one must be stored once.
 *
 * Scoring runs in worker threads as in `vigil serve` (`defaultWorkers()`).
 * Prints a table, then one line for other benches to parse:
 *   `mqtt_msgs_per_s=<n> p99_ack_ms=<n> burst_stored=<n>/<n> cpu_us_per_msg=<n>` (the `fleet`
 *   phase's figures). `cpu µs/msg` is this process's CPU time (every thread: MQTT, log, store,
 *   scoring) from the first PUBLISH to the last acknowledgement, per message: unlike msg/s it
 *   barely moves with the load other processes put on the machine.
 * BENCH_MQTT_PHASES (stock,fleet,burst) picks phases.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createEngine, defaultWorkers } from '../engine/create-engine.js';
import type { Engine, IngestPoint, IngestResult } from '../engine/engine.js';
import { startMqttSubscriber } from '../ingest/mqtt/subscriber.js';
import {
  FLEET_BROKER_SETTINGS,
  startPrivateMosquitto,
  type PrivateMosquitto,
} from '../ingest/mqtt/testing/private-mosquitto.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

const SELF = fileURLToPath(import.meta.url);
const STOCK_URL = process.env.BENCH_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const MESSAGES = Number(process.env.BENCH_MQTT_MESSAGES ?? 50_000);
const WINDOW = Number(process.env.BENCH_MQTT_WINDOW ?? 500);
const FLEET_WINDOW = Number(process.env.BENCH_MQTT_FLEET_WINDOW ?? 20_000);
const BURST = Number(process.env.BENCH_MQTT_BURST ?? 100_000);
const PHASES = (process.env.BENCH_MQTT_PHASES ?? 'stock,fleet,burst').split(',');
const DEVICES = 100;
const T0 = Date.UTC(2026, 0, 1);

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// ---- publisher (child process) ----------------------------------------------------------------

interface PublishOrder {
  readonly url: string;
  readonly topic: string;
  readonly count: number;
  /** Most published and not acknowledged by the subscriber (the parent says how many were). */
  readonly window: number;
}

async function publisher(order: PublishOrder): Promise<void> {
  const client = await mqtt.connectAsync(order.url, {
    clientId: `vigil-bench-pub-${process.pid}`,
    clean: true,
  });
  let acked = 0;
  let wake: (() => void) | undefined;
  process.on('message', (m: { acked: number }) => {
    acked = m.acked;
    wake?.();
  });
  let confirmed = 0;
  for (let seq = 0; seq < order.count; seq++) {
    while (seq - acked >= order.window) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const device = seq % DEVICES;
    const ts = T0 + Math.floor(seq / DEVICES) * 1000;
    client.publish(`${order.topic}/d${device}`, `v=${seq}@${ts}`, { qos: 1 }, () => confirmed++);
    // Let the socket drain now and then.
    if (seq % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  while (confirmed < order.count) await new Promise((r) => setTimeout(r, 5));
  await client.endAsync();
  process.send?.({ published: order.count });
}

// ---- subscriber side --------------------------------------------------------------------------

interface PhaseResult {
  readonly phase: string;
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly groups: number;
  readonly stored: number;
  /** CPU time of this process (all threads: MQTT, log, store, scoring) per message, µs. */
  readonly cpuUsPerMessage: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function runPhase(
  phase: string,
  url: string,
  count: number,
  window: number,
  dir: string,
): Promise<PhaseResult> {
  const store: Store = await openStore({ dataDir: path.join(dir, `data-${phase}`) });
  const engine: Engine = await createEngine({
    store,
    spoolDir: path.join(dir, `spool-${phase}`),
    checkpointEveryMs: 0,
    // As `vigil serve` does: scoring in worker threads on a multi-core machine.
    workers: defaultWorkers(),
  });
  const received = new Float64Array(count).fill(NaN);
  const latencies = new Float64Array(count);
  let acked = 0;
  let groups = 0;
  let first = NaN;
  let last = NaN;
  let cpuFirst: NodeJS.CpuUsage | undefined;
  let cpuLast: NodeJS.CpuUsage | undefined;
  const pub: { child?: ChildProcess } = {};
  let lastSent = 0;
  const tell = () => {
    if (pub.child?.connected && acked !== lastSent) {
      lastSent = acked;
      pub.child.send({ acked });
    }
  };
  const counted: Pick<Engine, 'ingest'> = {
    ingest(points: readonly IngestPoint[], source: string, onQueued?: () => void) {
      const result = engine.ingest(points, source, onQueued);
      void result.then((r: IngestResult) => {
        const now = performance.now();
        groups++;
        for (const p of points) {
          const seq = p.metrics.v as number;
          latencies[acked++] = now - received[seq]!;
        }
        last = now;
        cpuLast = process.cpuUsage();
        void r;
        tell();
      });
      return result;
    },
  };
  const topic = `bench/${process.pid}-${phase}`;
  const clientId = `vigil-bench-sub-${process.pid}-${phase}`;
  const subscriber = await startMqttSubscriber({
    engine: counted,
    config: { url, clientId, subscriptions: [{ topic: `${topic}/+device`, format: 'compact' }] },
  });
  subscriber.client.on('packetreceive', (packet) => {
    if (packet.cmd !== 'publish') return;
    // `v=<seq>@…`: the digits read from the bytes, so measuring costs the subscriber little.
    const payload = packet.payload as Uint8Array;
    let seq = 0;
    for (let i = 2; i < payload.length && payload[i] !== 0x40; i++)
      seq = seq * 10 + payload[i]! - 48;
    if (Number.isNaN(first)) {
      first = performance.now();
      cpuFirst = process.cpuUsage();
    }
    received[seq] = performance.now();
  });
  await subscriber.ready();
  const child = spawn(process.execPath, [SELF, 'publish'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  pub.child = child;
  child.on('error', () => {}); // an acknowledgement count sent after it exited (EPIPE)
  child.send({ url, topic, count, window } satisfies PublishOrder);
  const deadline = performance.now() + 600_000;
  let report = performance.now() + 5_000;
  while (acked < count && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    tell();
    if (performance.now() > report) {
      report += 5_000;
      log(`  ${phase}: ${acked} of ${count} acknowledged`);
    }
  }
  await engine.flush();
  const stored = await countStored(store);
  await subscriber.stop();
  child.kill();
  // The broker keeps the persistent session: end it.
  const c = await mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0 });
  await c.endAsync();
  await engine.close();
  await store.close();
  const seconds = (last - first) / 1000;
  const sorted = latencies.slice(0, acked).sort();
  return {
    phase,
    messages: acked,
    seconds,
    perSecond: acked / seconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    groups,
    stored,
    cpuUsPerMessage:
      cpuFirst && cpuLast
        ? (cpuLast.user + cpuLast.system - cpuFirst.user - cpuFirst.system) / acked
        : NaN,
  };
}

async function countStored(store: Store): Promise<number> {
  let total = 0;
  for (let d = 0; d < DEVICES; d++) {
    const r = await store.querier.points({
      device: `d${d}`,
      metric: 'v',
      from: 0,
      to: Date.UTC(2100, 0, 1),
    });
    if (r.kind === 'raw') total += new Set(Array.from(r.values)).size;
  }
  return total;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-mqtt-'));
  const results: PhaseResult[] = [];
  let broker: PrivateMosquitto | undefined;
  try {
    if (PHASES.includes('stock')) {
      log(`stock: ${MESSAGES} messages, window ${WINDOW}, ${STOCK_URL}`);
      results.push(await runPhase('stock', STOCK_URL, MESSAGES, WINDOW, dir));
    }
    if (PHASES.includes('fleet') || PHASES.includes('burst')) {
      broker = await startPrivateMosquitto(dir, FLEET_BROKER_SETTINGS);
      log(`private broker ${broker.url}: ${FLEET_BROKER_SETTINGS.join(', ')}`);
    }
    if (broker && PHASES.includes('fleet')) {
      log(`fleet: ${MESSAGES} messages, window ${FLEET_WINDOW}`);
      results.push(await runPhase('fleet', broker.url, MESSAGES, FLEET_WINDOW, dir));
    }
    if (broker && PHASES.includes('burst')) {
      log(`burst: ${BURST} messages, open loop`);
      results.push(await runPhase('burst', broker.url, BURST, BURST, dir));
    }
  } finally {
    broker?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const rows = [
    [
      'phase',
      'messages',
      'seconds',
      'msg/s',
      'p50 ack ms',
      'p99 ack ms',
      'msgs/commit',
      'cpu µs/msg',
      'stored',
    ],
    ...results.map((r) => [
      r.phase,
      String(r.messages),
      r.seconds.toFixed(2),
      r.perSecond.toFixed(0),
      r.p50Ms.toFixed(1),
      r.p99Ms.toFixed(1),
      (r.messages / r.groups).toFixed(1),
      r.cpuUsPerMessage.toFixed(1),
      String(r.stored),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i]!)).join('  '));
  const fleet = results.find((r) => r.phase === 'fleet') ?? results[0];
  const burst = results.find((r) => r.phase === 'burst');
  if (fleet) {
    console.log(
      `mqtt_msgs_per_s=${fleet.perSecond.toFixed(0)} p99_ack_ms=${fleet.p99Ms.toFixed(1)}` +
        (burst ? ` burst_stored=${burst.stored}/${BURST}` : '') +
        ` cpu_us_per_msg=${fleet.cpuUsPerMessage.toFixed(1)}`,
    );
  }
}

if (process.argv[2] === 'publish') {
  process.once('message', (order: PublishOrder) => {
    publisher(order).then(
      () => process.exit(0),
      (err: unknown) => {
        log(`publisher: ${String(err)}`);
        process.exit(1);
      },
    );
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      log(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
