/**
 * MQTT group commit: many messages per durable ingest, PUBACKs in arrival order and only after
 * durability (seen by a raw broker on a real socket, and across kill -9), a burst through a
 * private Mosquitto with the fleet settings stored in full and exactly once, and a shared
 * subscription splitting one stream between two subscribers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { createEngine } from '../../engine/create-engine.js';
import type { Engine, IngestPoint } from '../../engine/engine.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { startMqttSubscriber, type MqttSubscriber } from './subscriber.js';
import { startRawBroker } from './testing/raw-broker.js';
import {
  FLEET_BROKER_SETTINGS,
  startPrivateMosquitto,
  type PrivateMosquitto,
} from './testing/private-mosquitto.js';

const T0 = Date.UTC(2026, 0, 1);
const CRASH_CHILD = fileURLToPath(new URL('./testing/crash-subscriber.js', import.meta.url));

let dir: string;
let store: Store;
let engine: Engine;
let broker: PrivateMosquitto;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-mqtt-group-'));
  store = await openStore();
  engine = await createEngine({ store, spoolDir: path.join(dir, 'spool'), checkpointEveryMs: 0 });
  broker = await startPrivateMosquitto(dir, FLEET_BROKER_SETTINGS);
});

after(async () => {
  broker.stop();
  await engine.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Stored values of device/metric `v`, failing on a timestamp stored twice. */
async function storedOnce(from: Store, device: string): Promise<Map<number, number>> {
  const r = await from.querier.points({
    device,
    metric: 'v',
    from: 0,
    to: Date.UTC(2100, 0, 1),
    limit: 10_000_000,
  });
  const out = new Map<number, number>();
  if (r.kind !== 'raw') return out;
  r.times.forEach((t, i) => {
    assert.ok(!out.has(t), `${device}@${t} stored twice`);
    out.set(t, r.values[i]!);
  });
  return out;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const compact = (seq: number) => `v=${seq}@${T0 + seq}`;

test('3,000 messages in one burst: few ingest calls, PUBACKs in arrival order, each after its point is durable', async () => {
  const raw = await startRawBroker();
  const durable = new Set<number>();
  let calls = 0;
  const early: number[] = [];
  const counted: Pick<Engine, 'ingest'> = {
    ingest(points: readonly IngestPoint[], source: string, onQueued?: () => void) {
      calls++;
      const result = engine.ingest(points, source, onQueued);
      void result.then(() => {
        for (const p of points) durable.add(p.metrics.v as number);
      });
      return result;
    },
  };
  raw.onPuback = (id) => {
    if (!durable.has(id)) early.push(id);
  };
  let subscriber: MqttSubscriber | undefined;
  try {
    subscriber = await startMqttSubscriber({
      engine: counted,
      config: {
        url: raw.url,
        clientId: 'vigil-order',
        subscriptions: [{ topic: 'raw/+device', format: 'compact' }],
      },
    });
    const socket = await raw.subscribed();
    const n = 3000;
    // Packet id i carries sequence number i.
    raw.publish(
      socket,
      'raw/order-1',
      Array.from({ length: n }, (_, i) => compact(i + 1)),
    );
    await until('3,000 PUBACKs', () => raw.pubacks.length >= n);
    assert.deepEqual(
      raw.pubacks,
      Array.from({ length: n }, (_, i) => i + 1),
      'PUBACKs in the order the PUBLISHes came',
    );
    assert.deepEqual(early, [], 'no PUBACK before its point was durable');
    assert.ok(calls <= n / 10, `${calls} ingest calls for ${n} messages`);
    await engine.flush();
    const stored = await storedOnce(store, 'order-1');
    assert.equal(stored.size, n);
  } finally {
    await subscriber?.stop();
    await raw.close();
  }
});

test('kill -9 while PUBACKs flow: every acknowledged message is stored exactly once after restart', async () => {
  const raw = await startRawBroker();
  const dataDir = path.join(dir, 'crash-data');
  const spoolDir = path.join(dir, 'crash-spool');
  const child = spawn(process.execPath, [CRASH_CHILD, dataDir, spoolDir, raw.url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  try {
    const socket = await raw.subscribed();
    const n = 20_000;
    let armed = false;
    raw.onPuback = () => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), 150);
    };
    for (let first = 1; first <= n; first += 2000) {
      raw.publish(
        socket,
        'raw/crash-1',
        Array.from({ length: 2000 }, (_, i) => compact(first + i)),
        first,
      );
    }
    assert.equal(await exited, 'SIGKILL', stderr);
    const acked = [...raw.pubacks];
    assert.ok(acked.length > 0, 'something was acknowledged before the kill');
    assert.deepEqual(
      acked,
      Array.from({ length: acked.length }, (_, i) => i + 1),
      'in order',
    );
    // Restart: the durable log is replayed into the store.
    const again = await openStore({ dataDir });
    try {
      const recovered = await createEngine({ store: again, spoolDir, checkpointEveryMs: 0 });
      await recovered.close();
      const stored = await storedOnce(again, 'crash-1');
      for (const id of acked) assert.equal(stored.get(T0 + id), id, `message ${id} acknowledged`);
      console.log(`# mqtt crash: ${acked.length} acknowledged before kill -9, all stored once`);
    } finally {
      await again.close();
    }
  } finally {
    child.kill('SIGKILL');
    await raw.close();
  }
});

async function publishAll(url: string, count: number, devices: readonly string[], prefix: string) {
  const pub = await mqtt.connectAsync(url, { clientId: `vigil-burst-pub-${prefix}`, clean: true });
  try {
    await Promise.all(
      Array.from({ length: count }, (_, seq) =>
        pub.publishAsync(`${prefix}/${devices[seq % devices.length]}`, compact(seq), { qos: 1 }),
      ),
    );
  } finally {
    await pub.endAsync();
  }
}

async function storedCount(prefixDevices: string[]): Promise<number> {
  let total = 0;
  for (const d of prefixDevices) total += (await storedOnce(store, d)).size;
  return total;
}

test('a 20,000-message burst through Mosquitto with the fleet settings: every message stored once', async () => {
  const subscriber = await startMqttSubscriber({
    engine,
    config: {
      url: broker.url,
      clientId: 'vigil-burst',
      subscriptions: [{ topic: 'burst/+device', format: 'compact' }],
    },
  });
  try {
    await subscriber.ready();
    const n = 20_000;
    const devices = Array.from({ length: 10 }, (_, d) => `b${d}`);
    await publishAll(broker.url, n, devices, 'burst');
    await until(
      'the burst stored',
      async () => {
        await engine.flush();
        return (await storedCount(devices)) >= n;
      },
      120_000,
    );
    assert.equal(await storedCount(devices), n);
  } finally {
    await subscriber.stop();
  }
});

test('a shared subscription: two subscribers split one stream, nothing lost, nothing twice', async () => {
  const registries = [new Registry(), new Registry()];
  const subscribers = await Promise.all(
    registries.map((registry, i) =>
      startMqttSubscriber({
        engine,
        registry,
        config: {
          url: broker.url,
          clientId: `vigil-shared-${i}`,
          subscriptions: [{ topic: '$share/vigil/shared/+device', format: 'compact' }],
        },
      }),
    ),
  );
  try {
    await Promise.all(subscribers.map((s) => s.ready()));
    const n = 2000;
    const devices = Array.from({ length: 10 }, (_, d) => `s${d}`);
    await publishAll(broker.url, n, devices, 'shared');
    await until('the shared stream stored', async () => {
      await engine.flush();
      return (await storedCount(devices)) >= n;
    });
    assert.equal(await storedCount(devices), n);
    const received = await Promise.all(
      registries.map(async (r) => {
        const m = /^vigil_mqtt_messages_received_total (\d+)/m.exec(await r.metrics());
        return Number(m?.[1] ?? 0);
      }),
    );
    assert.ok(
      received.every((c) => c > 0),
      `each subscriber got a share: ${received.join(', ')}`,
    );
    assert.equal(
      received.reduce((a, b) => a + b, 0),
      n,
    );
  } finally {
    for (const s of subscribers) await s.stop();
  }
});
