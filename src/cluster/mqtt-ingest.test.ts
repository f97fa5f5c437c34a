/**
 * MQTT on cluster ingest nodes (docs/cluster.md): two ingest processes share one `$share/…`
 * subscription on the real Mosquitto, publish what they take to the real JetStream, and a scorer
 * stores it in PostgreSQL — every QoS 1 message acknowledged by the broker is stored once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { sleep } from '../timing/sleep.js';
import { dropDatabase, freshDatabase, pgQuery, removeStreams } from './testing/harness.js';
import { NodeProcess } from './testing/node-process.js';

const NATS = 'nats://127.0.0.1:4222';
const BROKER = 'mqtt://127.0.0.1:1883';
const TAG = `mq${process.pid}`;
const STREAM = `VIGIL_${TAG}`;
const DB = `vigil_cluster_${TAG}`;
const T0 = Date.UTC(2026, 0, 1);
const MESSAGES = 2_000;
const DEVICES = 40;
let dir = '';

after(async () => {
  await dropDatabase(DB).catch(() => undefined);
  await removeStreams(NATS, [STREAM, `KV_${STREAM}_LEASES`, `KV_${STREAM}_STRATEGIES`]).catch(
    () => undefined,
  );
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('two ingest nodes share one MQTT subscription; every acknowledged message is stored once', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-cluster-mqtt-'));
  const configFile = path.join(dir, 'vigil.yaml');
  await writeFile(
    configFile,
    [
      'shutdown_timeout_s: 30',
      'engine:',
      '  checkpoint_every_ms: 500',
      'cluster:',
      `  stream: ${STREAM}`,
      '  partitions: 4',
      '  lease_ttl_ms: 3000',
      `  events_subject: vigil.${TAG}`,
      'mqtt:',
      `  url: ${BROKER}`,
      '  subscriptions:',
      `    - topic: $share/${TAG}/${TAG}/+device`,
      '      format: compact',
    ].join('\n') + '\n',
  );
  const url = await freshDatabase(DB);
  const nodes: NodeProcess[] = [];
  const start = async (role: 'ingest' | 'scorer') => {
    const node = await NodeProcess.start({
      role,
      nats: NATS,
      databaseUrl: url,
      dataDir: path.join(dir, String(nodes.length)),
      configFile,
    });
    nodes.push(node);
    return node;
  };
  try {
    await start('scorer');
    await start('ingest');
    await start('ingest');
    // Both subscribers are in the group once each has subscribed: wait for the broker to say so.
    await sleep(1_000);
    const pub = await mqtt.connectAsync(BROKER, { clientId: `vigil-${TAG}-pub`, clean: true });
    try {
      await Promise.all(
        Array.from({ length: MESSAGES }, (_, seq) =>
          pub.publishAsync(`${TAG}/dev-${seq % DEVICES}`, `seq=${seq}@${T0 + seq * 1000}`, {
            qos: 1,
          }),
        ),
      );
    } finally {
      await pub.endAsync();
    }
    const deadline = Date.now() + 60_000;
    let rows: { n: string; distinct_values: string }[] = [];
    for (;;) {
      rows = await pgQuery(
        url,
        `SELECT count(*) AS n, count(DISTINCT value) AS distinct_values FROM points`,
      );
      if (Number(rows[0]?.n) >= MESSAGES || Date.now() > deadline) break;
      await sleep(250);
    }
    assert.deepEqual(rows[0], { n: String(MESSAGES), distinct_values: String(MESSAGES) });
    // Both ingest nodes took part: the broker shares the group's messages between them.
    for (const node of nodes.slice(1)) {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const received = text
        .split('\n')
        .filter((l) => l.startsWith('vigil_mqtt_messages_received_total'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      assert.ok(received > 0, `an ingest node received no MQTT message:\n${text.slice(0, 400)}`);
    }
  } finally {
    for (const node of nodes.reverse()) await node.stop();
  }
});
