/**
 * The cluster scores exactly like one process (docs/cluster.md, "Equivalence"): the same
 * recording (5,400 points over 60 devices, with spikes) through one `--role all` process and
 * through 2 ingest + 3 scorer processes over the real nats-server and PostgreSQL gives the same
 * stored points and the same events (ids, times, scores, explanations) — also when a scorer is
 * SIGKILLed mid-stream, and when one is added mid-stream.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { IngestPoint } from '../engine/engine.js';
import {
  caughtUp,
  dropDatabase,
  freshDatabase,
  postBatch,
  removeStreams,
  storedContents,
  type Stored,
} from './testing/harness.js';
import { NodeProcess } from './testing/node-process.js';
import { PrivateNats } from './testing/private-nats.js';
import { recordedBatches } from './testing/recorded-input.js';

const NATS = 'nats://127.0.0.1:4222';
const PARTITIONS = 16;
const TAG = `eq${process.pid}`;
const batches = recordedBatches(60, 90);
const databases: string[] = [];
const streams: string[] = [];
let dir = '';
let strategies = '';
let reference: Stored;

async function configFile(name: string, cluster: boolean, nats = NATS): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  const stream = `VIGIL_${TAG}_${name}`;
  if (cluster && nats === NATS) streams.push(stream, `KV_${stream}_LEASES`);
  await writeFile(
    file,
    [
      'shutdown_timeout_s: 30',
      'engine:',
      '  checkpoint_every_ms: 500',
      ...(cluster
        ? [
            'cluster:',
            `  stream: ${stream}`,
            `  partitions: ${PARTITIONS}`,
            '  lease_ttl_ms: 3000',
            `  events_subject: vigil.${TAG}.${name}`,
          ]
        : []),
    ].join('\n') + '\n',
  );
  return file;
}

async function database(name: string): Promise<string> {
  const db = `vigil_cluster_${TAG}_${name}`;
  databases.push(db);
  return freshDatabase(db);
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-cluster-eq-'));
  // Rolling z-scores flag the recording's spikes within its 90 minutes.
  strategies = path.join(dir, 'strategies');
  await mkdir(strategies);
  await writeFile(
    path.join(strategies, 'fleet.yaml'),
    [
      'name: fleet',
      'version: 1',
      'description: Rolling z-score of the recorded fleet.',
      'detector:',
      '  kind: rolling-zscore',
      '  params: { window: 30, threshold: 3 }',
      'threshold:',
      '  kind: static',
      'trigger_rules:',
      '  - device: dev-*',
    ].join('\n') + '\n',
  );
  const url = await database('all');
  const node = await NodeProcess.start({
    role: 'all',
    databaseUrl: url,
    dataDir: path.join(dir, 'all'),
    configFile: await configFile('all', false),
    strategies,
  });
  try {
    for (const batch of batches) await postBatch(node.url, batch);
    assert.equal(await node.stop(), 0, node.log());
  } finally {
    await node.kill();
  }
  reference = await storedContents(url);
});

after(async () => {
  for (const db of databases) await dropDatabase(db).catch(() => undefined);
  await removeStreams(NATS, streams).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

interface Cluster {
  readonly ingest: NodeProcess[];
  readonly scorers: NodeProcess[];
  addScorer(): Promise<NodeProcess>;
}

/**
 * 2 ingest + 3 scorers on a fresh database and stream; the recording is sent through the ingest
 * nodes in turn (each batch acknowledged before the next); `midway` runs after half of it.
 */
async function throughCluster(
  name: string,
  midway?: (cluster: Cluster) => Promise<void>,
  caught?: (cluster: Cluster) => Promise<void>,
  nats = NATS,
  /** Ids of the events an ingest node's live stream carried. */
  streamed?: Set<string>,
): Promise<Stored> {
  const url = await database(name);
  const configFileName = await configFile(name, true, nats);
  const live: NodeProcess[] = [];
  const start = async (role: 'ingest' | 'scorer'): Promise<NodeProcess> => {
    const node = await NodeProcess.start({
      role,
      nats,
      databaseUrl: url,
      dataDir: path.join(dir, name, String(live.length)),
      configFile: configFileName,
      strategies,
    });
    live.push(node);
    return node;
  };
  try {
    const scorers = [await start('scorer'), await start('scorer'), await start('scorer')];
    const ingest = [await start('ingest'), await start('ingest')];
    const cluster: Cluster = {
      ingest,
      scorers,
      addScorer: async () => {
        const node = await start('scorer');
        scorers.push(node);
        return node;
      },
    };
    const sse = new AbortController();
    const reading =
      streamed === undefined
        ? Promise.resolve()
        : readEvents(
            `${(ingest[1] as NodeProcess).url}/v1/stream?type=event`,
            sse.signal,
            streamed,
          );
    const half = Math.floor(batches.length / 2);
    for (const [i, batch] of batches.entries()) {
      if (i === half && midway !== undefined) await midway(cluster);
      await postBatch((ingest[i % 2] as NodeProcess).url, batch as IngestPoint[]);
    }
    await caughtUp(
      scorers.filter((s) => s.alive),
      PARTITIONS,
    );
    await caught?.(cluster);
    sse.abort();
    await reading;
    const running = live.filter((n) => n.alive);
    const codes = await Promise.all(running.map((n) => n.stop()));
    assert.deepEqual(
      codes,
      running.map(() => 0),
      running.map((n) => n.log().slice(-2000)).join('\n---\n'),
    );
  } finally {
    await Promise.all(live.map((n) => n.kill()));
  }
  return storedContents(url);
}

/** Event ids of `event:` messages on an SSE stream, until aborted. */
async function readEvents(url: string, signal: AbortSignal, ids: Set<string>): Promise<void> {
  try {
    const res = await fetch(url, { signal });
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      const messages = text.split('\n\n');
      text = messages.pop() ?? '';
      for (const m of messages) {
        const data = /^data: (.*)$/m.exec(m)?.[1];
        if (m.startsWith('event: event') && data !== undefined) {
          ids.add((JSON.parse(data) as { event: { id: string } }).event.id);
        }
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

function assertSame(cluster: Stored): void {
  assert.equal(reference.points.length, batches.length * 60 * 2);
  assert.ok(reference.events.length >= 50, `only ${reference.events.length} events`);
  assert.equal(cluster.points.length, reference.points.length);
  assert.deepEqual(cluster.points, reference.points);
  assert.equal(cluster.events.length, reference.events.length);
  assert.deepEqual(cluster.events, reference.events);
}

test('2 ingest + 3 scorers store the same points and events as one process', async () => {
  const streamed = new Set<string>();
  const result = await throughCluster('base', undefined, undefined, NATS, streamed);
  assertSame(result);
  // Every event reached an ingest node's live stream over the event bus.
  assert.deepEqual([...streamed].sort(), result.events.map((e) => (e as { id: string }).id).sort());
});

test('a scorer SIGKILLed mid-stream: its partitions resume elsewhere, nothing lost or doubled', async () => {
  const killed: NodeProcess[] = [];
  const result = await throughCluster('kill', async (cluster) => {
    const victim = cluster.scorers.shift() as NodeProcess;
    killed.push(victim);
    await victim.kill();
  });
  assert.equal(killed.length, 1);
  assertSame(result);
});

test('a scorer added mid-stream takes its share of the partitions', async () => {
  let share: number[] = [];
  const result = await throughCluster(
    'add',
    async (cluster) => {
      await cluster.addScorer();
    },
    async (cluster) => {
      const added = cluster.scorers.at(-1) as NodeProcess;
      share = (await added.get<{ leased: number[] }>('/v1/cluster')).leased;
    },
  );
  // Four scorers: four partitions each.
  assert.equal(share.length, PARTITIONS / 4);
  assertSame(result);
});

test('nats-server restarted mid-stream: ingest answers 503 meanwhile, nothing acknowledged is lost', async () => {
  const nats = await PrivateNats.start();
  let refused = 0;
  try {
    const result = await throughCluster(
      'nats',
      async (cluster) => {
        await nats.down();
        const res = await fetch(`${(cluster.ingest[0] as NodeProcess).url}/v1/points`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batches[Math.floor(batches.length / 2)]),
        });
        await res.arrayBuffer();
        if (res.status === 503) refused++;
        await nats.up();
      },
      undefined,
      nats.url,
    );
    assert.equal(refused, 1);
    assertSame(result);
  } finally {
    await nats.remove();
  }
});
