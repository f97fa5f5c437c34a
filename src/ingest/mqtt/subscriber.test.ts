/**
 * The MQTT subscriber against the real local Mosquitto (127.0.0.1:1883) and, for credentials and
 * reconnects, a private `mosquitto` child process on a free port. Each run uses its own topic
 * prefix and client ids, and removes its persistent sessions at the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { createEngine } from '../../engine/create-engine.js';
import type { Engine } from '../../engine/engine.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { Rng } from '../../core/stats/rng.js';
import { startMqttSubscriber, type MqttConfig, type MqttSubscriber } from './subscriber.js';

const run = promisify(execFile);
const BROKER = 'mqtt://127.0.0.1:1883';
const RUN = `${process.pid}-${randomBytes(4).toString('hex')}`;
const PREFIX = `vigil-test/${RUN}`;
const T0 = Date.UTC(2026, 0, 1);
const clientIds = new Set<string>();

let store: Store;
let engine: Engine;
let dir: string;
const registry = new Registry();
const subscribers: MqttSubscriber[] = [];
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-mqtt-'));
  store = await openStore();
  engine = await createEngine({
    store,
    registry,
    spoolDir: path.join(dir, 'spool'),
    checkpointEveryMs: 0,
  });
});

after(async () => {
  for (const s of subscribers) await s.stop();
  for (const c of children) c.kill('SIGTERM');
  // Persistent sessions stay in the broker: end each with a clean session.
  for (const clientId of clientIds) {
    const c = await mqtt.connectAsync(BROKER, { clientId, clean: true, reconnectPeriod: 0 });
    await c.endAsync();
  }
  await engine.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

interface Logged {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

function logger(into: Logged[]) {
  const at =
    (level: string) =>
    (fields: object, msg: string): void => {
      into.push({ level, msg, fields: fields as Record<string, unknown> });
    };
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

async function subscribe(
  config: Partial<MqttConfig> & Pick<MqttConfig, 'subscriptions'>,
  options: { engine?: Engine; registry?: Registry; log?: Logged[]; wait?: boolean } = {},
): Promise<MqttSubscriber> {
  const clientId = config.clientId ?? `vigil-test-${RUN}-${clientIds.size}`;
  clientIds.add(clientId);
  const s = await startMqttSubscriber({
    engine: options.engine ?? engine,
    registry: options.registry ?? registry,
    config: { url: BROKER, reconnectMinMs: 100, reconnectMaxMs: 1000, ...config, clientId },
    ...(options.log ? { log: logger(options.log) } : {}),
    clock: () => T0 + 999_000,
    units: store.metricUnits,
  });
  subscribers.push(s);
  if (options.wait !== false) await s.ready();
  return s;
}

async function stopSubscriber(s: MqttSubscriber): Promise<void> {
  subscribers.splice(subscribers.indexOf(s), 1);
  await s.stop();
}

async function pub(topic: string, message: string, extra: string[] = []): Promise<void> {
  await run('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    '1883',
    '-q',
    '1',
    '-t',
    topic,
    '-m',
    message,
    ...extra,
  ]);
}

async function stored(
  device: string,
  metric: string,
): Promise<{ times: number[]; values: number[] }> {
  const r = await store.querier.points({ device, metric, from: 0, to: Date.UTC(2100, 0, 1) });
  return r.kind === 'raw'
    ? { times: Array.from(r.times), values: Array.from(r.values) }
    : { times: [], values: [] };
}

/** Poll until `count` points of the series are stored (the engine stores in the background). */
async function waitStored(device: string, metric: string, count: number, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    await engine.flush();
    const got = await stored(device, metric);
    if (got.times.length >= count) return got;
    if (Date.now() > deadline) {
      assert.fail(`${device}/${metric}: ${got.times.length} of ${count} points after ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function metricValue(name: string, labels = ''): Promise<number> {
  const text = await registry.metrics();
  const escaped = name + labels.replace(/[{}"]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const MQTT_ACCEPTED = '{protocol="mqtt",result="accepted"}';
const MQTT_REJECTED = '{protocol="mqtt",result="rejected"}';

describe('MQTT subscriber on the local Mosquitto', () => {
  let logs: Logged[];
  before(async () => {
    logs = [];
    await subscribe(
      {
        subscriptions: [
          { topic: `${PREFIX}/plants/+plant/devices/+device/telemetry` },
          { topic: `${PREFIX}/compact/+device`, format: 'compact' },
          { topic: `${PREFIX}/points/#`, format: 'json' },
        ],
        maxPayloadBytes: 4096,
      },
      { log: logs },
    );
  });

  test('mosquitto_pub: JSON (flat and DataPoint), compact; device and tags from the topic; scored', async () => {
    const scoredBefore = engine.stats().scored;
    await pub(
      `${PREFIX}/plants/north/devices/pump-1/telemetry`,
      JSON.stringify({ temp: 21.5, on: true, status: 'ok', timestamp: T0 }),
    );
    await pub(
      `${PREFIX}/plants/north/devices/pump-1/telemetry`,
      JSON.stringify({ timestamp: T0 + 1000, metrics: { temp: 22 } }),
    );
    await pub(`${PREFIX}/compact/pump-2`, `temp=30.5,hum=40@${T0}`);
    await pub(
      `${PREFIX}/points/any`,
      JSON.stringify([{ timestamp: T0, device_id: 'pump-3', metrics: { temp: 1 } }]),
    );
    // No timestamp: the receive time.
    await pub(`${PREFIX}/compact/pump-4`, 'temp=7');
    assert.deepEqual(await waitStored('pump-1', 'temp', 2), {
      times: [T0, T0 + 1000],
      values: [21.5, 22],
    });
    assert.deepEqual((await waitStored('pump-1', 'on', 1)).values, [1]);
    assert.deepEqual((await waitStored('pump-2', 'hum', 1)).values, [40]);
    assert.deepEqual((await waitStored('pump-3', 'temp', 1)).values, [1]);
    assert.deepEqual((await waitStored('pump-4', 'temp', 1)).times, [T0 + 999_000]);
    assert.ok(engine.stats().scored >= scoredBefore + 7, 'points were scored');
  });

  test('units a payload declares are stored once durable, never over a declared unit', async () => {
    const metric = `flow-${RUN}`;
    const declared = `head-${RUN}`;
    await store.metricUnits.set(declared, 'm', 'set through the API');
    await pub(
      `${PREFIX}/plants/north/devices/pump-7/telemetry`,
      JSON.stringify({
        [metric]: 3.5,
        [declared]: 7,
        units: { [metric]: 'm³/h', [declared]: 'ft' },
      }),
    );
    // A rejected message declares nothing.
    await pub(
      `${PREFIX}/points/x`,
      JSON.stringify({ metrics: { [`ghost-${RUN}`]: 1 }, units: { [`ghost-${RUN}`]: 'V' } }),
    );
    await waitStored('pump-7', metric, 1);
    const deadline = Date.now() + 10_000;
    let units = await store.metricUnits.list();
    while (!units.some((u) => u.metric === metric) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      units = await store.metricUnits.list();
    }
    const byMetric = new Map(units.map((u) => [u.metric, u]));
    assert.deepEqual(
      [byMetric.get(metric)?.unit, byMetric.get(metric)?.source],
      ['m³/h', 'metadata'],
    );
    assert.deepEqual(
      [byMetric.get(declared)?.unit, byMetric.get(declared)?.source],
      ['m', 'api'],
      'a declared unit keeps its place',
    );
    assert.equal(byMetric.get(`ghost-${RUN}`), undefined, 'the message had no device');
  });

  test('mosquitto_pub -l: a stream of 30 messages arrives in full and raises no errors', async () => {
    const lines = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ load: i % 10, timestamp: T0 + i * 1000 }),
    );
    await new Promise<void>((resolve, reject) => {
      const child = spawn('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        '1883',
        '-q',
        '1',
        '-t',
        `${PREFIX}/plants/south/devices/pump-5/telemetry`,
        '-l',
      ]);
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`mosquitto_pub exit ${code}`)),
      );
      child.stdin.end(lines.join('\n') + '\n');
    });
    const got = await waitStored('pump-5', 'load', 30);
    assert.deepEqual(got.values.slice(0, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });

  test('an MQTT.js publisher: 150 QoS 1 messages, every one stored once', async () => {
    const pubClient = await mqtt.connectAsync(BROKER, {
      clientId: `vigil-test-pub-${RUN}`,
      clean: true,
    });
    try {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          pubClient.publishAsync(`${PREFIX}/compact/pump-6`, `v=${i}@${T0 + i * 1000}`, { qos: 1 }),
        ),
      );
      const got = await waitStored('pump-6', 'v', 150);
      const seconds = (performance.now() - started) / 1000;
      assert.deepEqual(
        got.values,
        Array.from({ length: 150 }, (_, i) => i),
      );
      // Reported in the test log (messages share durable group commits, acknowledged in order).
      console.log(
        `# mqtt: 150 QoS 1 messages published, ingested and stored in ${seconds.toFixed(2)} s`,
      );
    } finally {
      await pubClient.endAsync();
    }
  });

  test('bad messages are counted by reason, logged with topic and reason, and never stop the good ones', async () => {
    const before = {
      payload: await metricValue('vigil_mqtt_messages_rejected_total', '{reason="payload"}'),
      large: await metricValue('vigil_mqtt_messages_rejected_total', '{reason="too_large"}'),
      points: await metricValue('vigil_mqtt_messages_rejected_total', '{reason="points"}'),
      device: await metricValue('vigil_mqtt_messages_rejected_total', '{reason="no_device"}'),
    };
    await pub(`${PREFIX}/compact/bad-1`, 'temp=hot');
    await pub(`${PREFIX}/plants/n/devices/bad-1/telemetry`, '{"temp": ');
    await pub(
      `${PREFIX}/plants/n/devices/bad-1/telemetry`,
      JSON.stringify({ big: 'x'.repeat(5000), v: 1 }),
    );
    await pub(`${PREFIX}/compact/bad-1`, `v=1@${Date.UTC(2200, 0, 1)}`);
    await pub(`${PREFIX}/points/x`, JSON.stringify({ v: 1 }));
    await pub(`${PREFIX}/compact/good-1`, `v=1@${T0}`);
    await waitStored('good-1', 'v', 1);
    assert.equal(
      await metricValue('vigil_mqtt_messages_rejected_total', '{reason="payload"}'),
      before.payload + 2,
    );
    assert.equal(
      await metricValue('vigil_mqtt_messages_rejected_total', '{reason="too_large"}'),
      before.large + 1,
    );
    assert.equal(
      await metricValue('vigil_mqtt_messages_rejected_total', '{reason="points"}'),
      before.points + 1,
    );
    assert.equal(
      await metricValue('vigil_mqtt_messages_rejected_total', '{reason="no_device"}'),
      before.device + 1,
    );
    const rejections = logs.filter((l) => l.msg === 'mqtt: message rejected');
    const compact = rejections.find(
      (l) => l.fields.topic === `${PREFIX}/compact/bad-1` && l.fields.reason === 'payload',
    );
    assert.match(String(compact?.fields.why), /temp: "hot" is not a number/);
    const range = rejections.find((l) => l.fields.reason === 'points');
    assert.match(String(range?.fields.why), /timestamp: .* is outside/);
    assert.equal(await metricValue('vigil_mqtt_connected'), 1);
  });

  test('fuzz over the broker: 150 seeded random and mutated payloads, then a good one is stored', async () => {
    const random = Rng.fromSeed(99);
    const pubClient = await mqtt.connectAsync(BROKER, {
      clientId: `vigil-test-fuzz-${RUN}`,
      clean: true,
    });
    try {
      const seeds = [
        JSON.stringify({ a: 1, timestamp: T0 }),
        `a=1,b=2@${T0}`,
        '[{"metrics":{"a":1}}]',
      ];
      for (let i = 0; i < 150; i++) {
        let payload: Buffer;
        if (i % 2 === 0) {
          payload = Buffer.from(Array.from({ length: random.int(200) }, () => random.int(256)));
        } else {
          const chars = [...seeds[random.int(seeds.length)]!];
          chars.splice(
            random.int(chars.length + 1),
            random.int(3),
            String.fromCharCode(random.int(128)),
          );
          payload = Buffer.from(chars.join(''));
        }
        const topic =
          i % 3 === 0 ? `${PREFIX}/compact/fuzz` : `${PREFIX}/plants/f/devices/fuzz/telemetry`;
        await pubClient.publishAsync(topic, payload, { qos: 1 });
      }
      await pubClient.publishAsync(`${PREFIX}/compact/fuzz-ok`, `v=1@${T0}`, { qos: 1 });
      await waitStored('fuzz-ok', 'v', 1);
      assert.equal(await metricValue('vigil_mqtt_connected'), 1);
    } finally {
      await pubClient.endAsync();
    }
  });

  test('vigil_ingest_points_total{protocol="mqtt"} counts every point: accepted, rejected', async () => {
    const accepted = await metricValue('vigil_ingest_points_total', MQTT_ACCEPTED);
    const rejected = await metricValue('vigil_ingest_points_total', MQTT_REJECTED);
    const pubClient = await mqtt.connectAsync(BROKER, {
      clientId: `vigil-test-count-${RUN}`,
      clean: true,
    });
    try {
      for (let i = 0; i < 10; i++) {
        await pubClient.publishAsync(`${PREFIX}/compact/count-1`, `v=${i}@${T0 + i * 1000}`, {
          qos: 1,
        });
      }
      // One message of two points: the engine refuses the second (no device).
      const two = [
        { timestamp: T0, device_id: 'count-2', metrics: { v: 1 } },
        { timestamp: T0, device_id: '', metrics: { v: 2 } },
      ];
      await pubClient.publishAsync(`${PREFIX}/points/count`, JSON.stringify(two), { qos: 1 });
    } finally {
      await pubClient.endAsync();
    }
    await waitStored('count-1', 'v', 10);
    await waitStored('count-2', 'v', 1);
    assert.equal((await metricValue('vigil_ingest_points_total', MQTT_ACCEPTED)) - accepted, 11);
    assert.equal((await metricValue('vigil_ingest_points_total', MQTT_REJECTED)) - rejected, 1);
  });
});

test('QoS 1: a message is not acknowledged until durable; the broker redelivers it to the next session', async () => {
  // An engine that can never take a 2-point message (queue limit 1): every ingest is refused
  // with backpressure, so the subscriber pauses and must not send PUBACK.
  const full = await createEngine({
    store,
    spoolDir: path.join(dir, 'spool-full'),
    checkpointEveryMs: 0,
    queueLimit: 1,
  });
  const fullRegistry = new Registry();
  const clientId = `vigil-test-ack-${RUN}`;
  const topic = `${PREFIX}/ack/+device`;
  try {
    const first = await subscribe(
      { clientId, subscriptions: [{ topic }] },
      { engine: full, registry: fullRegistry },
    );
    const pubClient = await mqtt.connectAsync(BROKER, {
      clientId: `vigil-test-ackpub-${RUN}`,
      clean: true,
    });
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify([
        { timestamp: T0 + i * 1000, metrics: { a: i } },
        { timestamp: T0 + i * 1000 + 500, metrics: { a: i + 0.5 } },
      ]);
      await pubClient.publishAsync(`${PREFIX}/ack/acked-later`, body, { qos: 1 });
    }
    await pubClient.endAsync();
    const deadline = Date.now() + 10_000;
    while (
      (await fullRegistry.metrics()).match(/^vigil_mqtt_backpressure_waits_total (\d+)/m)?.[1] ===
      '0'
    ) {
      if (Date.now() > deadline) assert.fail('the subscriber never met backpressure');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(full.stats().accepted, 0);
    // "Crash": the subscriber goes away with the messages unacknowledged.
    await stopSubscriber(first);
    // The next session with the same client id and a working engine gets all five.
    await subscribe({ clientId, subscriptions: [{ topic }] });
    const got = await waitStored('acked-later', 'a', 10);
    assert.deepEqual(got.values, [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
  } finally {
    await full.close();
  }
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a private broker with credentials: backoff while it is down, connect when it is up, refuse a bad password', async () => {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const passwd = path.join(dir, 'passwd');
  await writeFile(passwd, '');
  await run('mosquitto_passwd', ['-b', passwd, 'vigil', 's3cret']);
  await writeFile(
    conf,
    [
      // Run as root, mosquitto would switch to its own user and not read the private temp dir.
      'user root',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwd}`,
      'persistence false',
      '',
    ].join('\n'),
  );
  const url = `mqtt://127.0.0.1:${port}`;
  const privateRegistry = new Registry();
  const attempts: number[] = [];
  const sub = await subscribe(
    {
      url,
      username: 'vigil',
      password: 's3cret',
      subscriptions: [{ topic: `${PREFIX}/private/+device` }],
      reconnectMinMs: 100,
      reconnectMaxMs: 800,
    },
    { wait: false, registry: privateRegistry },
  );
  sub.client.on('reconnect', () => attempts.push(Date.now()));
  await new Promise((r) => setTimeout(r, 2_500));
  assert.equal(sub.connected(), false);
  assert.ok(attempts.length >= 3, `${attempts.length} reconnect attempts`);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
  // 200, 400, 800, 800…: growing, capped (timers are late on a loaded machine, never early).
  assert.ok(gaps[0]! >= 180, `gaps ${gaps.join(', ')}`);
  assert.ok(gaps[1]! >= 380 && gaps[1]! > gaps[0]!, `gaps ${gaps.join(', ')}`);
  assert.match(await privateRegistry.metrics(), /^vigil_mqtt_connected 0$/m);

  const broker = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(broker);
  let brokerLog = '';
  broker.stderr?.on('data', (chunk: Buffer) => (brokerLog += chunk.toString()));
  await Promise.race([
    sub.ready(),
    new Promise((_resolve, reject) =>
      setTimeout(
        () => reject(new Error(`not connected within 15 s; mosquitto: ${brokerLog}`)),
        15_000,
      ),
    ),
  ]);
  assert.match(await privateRegistry.metrics(), /^vigil_mqtt_connected 1$/m);
  await run('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-u',
    'vigil',
    '-P',
    's3cret',
    '-q',
    '1',
    '-t',
    `${PREFIX}/private/locked-1`,
    '-m',
    `v=42@${T0}`,
  ]);
  assert.deepEqual((await waitStored('locked-1', 'v', 1)).values, [42]);

  const badLogs: Logged[] = [];
  const badRegistry = new Registry();
  const bad = await subscribe(
    {
      url,
      username: 'vigil',
      password: 'wrong',
      subscriptions: [{ topic: `${PREFIX}/private/+device` }],
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
    },
    { wait: false, registry: badRegistry, log: badLogs },
  );
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(bad.connected(), false);
  const refusals = badLogs.filter((l) => l.msg === 'mqtt: broker refused the connection');
  assert.ok(refusals.length >= 2, `${refusals.length} refusals: it keeps retrying`);
  assert.match(String(refusals[0]?.fields.err), /Not authorized|Bad username or password/i);
  assert.doesNotMatch(JSON.stringify(badLogs), /wrong/, 'the password is never logged');
  await stopSubscriber(bad);
  await stopSubscriber(sub);
  broker.kill('SIGTERM');
});
