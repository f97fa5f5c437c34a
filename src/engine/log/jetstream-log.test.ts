import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openStore } from '../../store/open-store.js';
import { createEngine } from '../create-engine.js';
import { spooledBatch, type SpooledBatch } from '../spool-record.js';
import { LOG_START, type OnDurable } from './durable-log.js';
import { logConformance } from './log-conformance.js';
import { partitionOf, spooledBatchCodec } from './jetstream-log-codec.js';
import { JetStreamLog, type JetStreamLogOptions } from './jetstream-log.js';
import { freePort } from '../../net/free-port.js';

const NATS = '127.0.0.1:4222';
const BASE = Date.UTC(2025, 0, 1);
const streams = new Set<string>();
const uniqueStream = (): string => {
  const name = `VIGIL_TEST_${randomBytes(6).toString('hex').toUpperCase()}`;
  streams.add(name);
  return name;
};

async function deleteStream(name: string): Promise<void> {
  const nc = await connect({ servers: NATS });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(name).catch(() => false);
    streams.delete(name);
  } finally {
    await nc.close();
  }
}

// Streams of a test that failed half-way are removed too.
after(async () => {
  for (const name of [...streams]) await deleteStream(name);
});

const batch = (n: number, device = 'd'): SpooledBatch =>
  spooledBatch([{ timestamp: BASE + n, device_id: device, metrics: { n } }]);
const id = (b: SpooledBatch): number => b.points[0]?.metrics['n'] as number;

function conformance(name: string, extra: Partial<JetStreamLogOptions<SpooledBatch>>): void {
  logConformance<SpooledBatch>(name, async () => {
    const stream = uniqueStream();
    const options = { servers: NATS, stream, partitions: 8, codec: spooledBatchCodec, ...extra };
    return {
      open: (onDurable) => JetStreamLog.open(options, onDurable),
      batch,
      id,
      // The first chunk of a two-chunk record whose second never came: a failed append.
      tear: async () => {
        const nc = await connect({ servers: NATS });
        const h = headers();
        h.set('Vigil-Record', 'torn');
        h.set('Vigil-Chunk', '1/2');
        const subject = `${stream}.${partitionOf('d', 8)}.chunk`;
        await jetstream(nc).publish(subject, new TextEncoder().encode('torn'), { headers: h });
        await nc.close();
      },
      dispose: () => deleteStream(stream),
    };
  });
}

conformance('JetStream', {});
// Every batch split into several messages: the record framing passes the same contract.
conformance('JetStream, batches chunked', { chunkBytes: 16 });

const noop: OnDurable<SpooledBatch> = () => undefined;

async function readAll(log: JetStreamLog<SpooledBatch>): Promise<SpooledBatch[]> {
  const out: SpooledBatch[] = [];
  for await (const entry of log.read(LOG_START)) out.push(entry.batch);
  return out;
}

describe('JetStream durable log', () => {
  it('keeps everything across a restart, a batch over the server max payload included', async () => {
    const stream = uniqueStream();
    const options = { servers: NATS, stream, partitions: 64, codec: spooledBatchCodec };
    const log = await JetStreamLog.open(options, noop);
    const points = Array.from({ length: 40_000 }, (_, i) => ({
      timestamp: BASE + i,
      device_id: `device-${i % 500}`,
      metrics: { cpu_utilisation_percent: i / 7, memory_resident_bytes: i * 1013 },
    }));
    const big = spooledBatch(points);
    assert.ok(big.rows.text.length > 2 * 1024 * 1024, `big batch: ${big.rows.text.length}`);
    const small = Array.from({ length: 20 }, (_, n) => batch(n, `device-${n}`));
    await Promise.all([...small.slice(0, 10), big, ...small.slice(10)].map((b) => log.append(b)));
    await log.close();

    const again = await JetStreamLog.open(options, noop);
    assert.equal(again.size().entries, 21);
    assert.ok(again.size().bytes > big.rows.text.length);
    const read = await readAll(again);
    assert.equal(read.length, 21);
    assert.deepEqual(read.slice(0, 10).map(id), [...Array(10).keys()]);
    assert.equal(read[10]?.rows.text, big.rows.text);
    assert.deepEqual(read[10]?.points, points);
    assert.deepEqual(
      read.slice(11).map(id),
      [...Array(10).keys()].map((n) => n + 10),
    );
    await again.close();
    await deleteStream(stream);
  });

  it('publishes each batch on its device partition subject', async () => {
    const stream = uniqueStream();
    const log = await JetStreamLog.open(
      { servers: NATS, stream, partitions: 64, codec: spooledBatchCodec },
      noop,
    );
    const devices = ['pump-1', 'pump-2', 'valve-17', 'meter-0042'];
    for (const [n, device] of devices.entries()) await log.append(batch(n, device));
    await log.close();
    const nc = await connect({ servers: NATS });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream, { subjects_filter: `${stream}.*` });
    const expected: Record<string, number> = {};
    for (const device of devices) {
      const subject = `${stream}.${partitionOf(device, 64)}`;
      expected[subject] = (expected[subject] ?? 0) + 1;
    }
    assert.deepEqual(info.state.subjects, expected);
    assert.match(info.config.description ?? '', /partitions=64/);
    await nc.close();
    await deleteStream(stream);
  });

  it('partitions devices stably and over every partition', () => {
    assert.equal(partitionOf('device-1', 64), partitionOf('device-1', 64));
    // FNV-1a 32 of "a" is 0xe40c292c: pinned, so a change that moves devices fails here.
    assert.equal(partitionOf('a', 1 << 16), 0xe40c292c % (1 << 16));
    const used = new Set(Array.from({ length: 2000 }, (_, i) => partitionOf(`device-${i}`, 64)));
    assert.equal(used.size, 64);
  });

  it('refuses to open a stream with another partition count', async () => {
    const stream = uniqueStream();
    const base = { servers: NATS, stream, codec: spooledBatchCodec };
    await (await JetStreamLog.open({ ...base, partitions: 64 }, noop)).close();
    await assert.rejects(JetStreamLog.open({ ...base, partitions: 32 }, noop), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'VIGIL_ERR_CONFIG');
      assert.match((error as Error).message, /partitions=64/);
      assert.match((error as Error).message, /not 32 partitions/);
      return true;
    });
    await deleteStream(stream);
  });

  it('refuses to open when NATS cannot be reached, with a coded error', async () => {
    const port = await freePort();
    await assert.rejects(
      JetStreamLog.open(
        {
          servers: `127.0.0.1:${port}`,
          stream: 'VIGIL_UNREACHABLE',
          partitions: 4,
          codec: spooledBatchCodec,
          timeoutMs: 500,
        },
        noop,
      ),
      (error: unknown) => (error as { code?: string }).code === 'VIGIL_ERR_LOG_UNAVAILABLE',
    );
  });

  it('rejects appends with a coded error, not hanging, when the server goes away', async () => {
    const stream = uniqueStream();
    const proxy = await startProxy();
    const seen: number[] = [];
    const log = await JetStreamLog.open(
      {
        servers: `127.0.0.1:${proxy.port}`,
        stream,
        partitions: 4,
        codec: spooledBatchCodec,
        timeoutMs: 400,
      },
      (entries) => seen.push(...entries.map((e) => id(e.batch))),
    );
    await log.append(batch(0));
    await proxy.stop();
    const results = await Promise.allSettled([log.append(batch(1)), log.append(batch(2))]);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.equal(
        (result as PromiseRejectedResult).reason.code as string,
        'VIGIL_ERR_LOG_UNAVAILABLE',
      );
    }
    assert.deepEqual(seen, [0], 'only the acknowledged batch was durable');
    await log.close();
    await deleteStream(stream);
  });
});

describe('engine on the JetStream durable log', () => {
  const points = (n: number, from = 0): SpooledBatch['points'] =>
    Array.from({ length: n }, (_, k) => ({
      timestamp: BASE + (from + k) * 1000,
      device_id: 'pump-1',
      metrics: { temp: 20 + Math.sin((from + k) / 5) },
    }));
  const storedCount = async (store: Awaited<ReturnType<typeof openStore>>): Promise<number> => {
    const raw = await store.querier.points({
      device: 'pump-1',
      metric: 'temp',
      from: 0,
      to: BASE * 2,
    });
    assert.equal(raw.kind, 'raw');
    return raw.times.length;
  };

  it('replays what a previous run left in the stream, then trims it once stored and checkpointed', async () => {
    const stream = uniqueStream();
    const options = { servers: NATS, stream, partitions: 64, codec: spooledBatchCodec };
    // A previous run accepted two batches, then died before storing them.
    const previous = await JetStreamLog.open(options, noop);
    await previous.append(spooledBatch(points(40)));
    await previous.append(spooledBatch(points(60, 40)));
    await previous.close();

    const store = await openStore();
    const engine = await createEngine({
      store,
      spoolDir: '/nonexistent/vigil-unused-spool',
      checkpointEveryMs: 0,
      openLog: (onDurable) => JetStreamLog.open(options, onDurable),
    });
    await engine.ingest(points(50, 100), 'test');
    await engine.flush();
    assert.equal(await storedCount(store), 150);
    assert.equal(engine.stats().log.entries, 3);
    await engine.checkpoint();
    assert.equal(engine.stats().log.entries, 0, 'stored and checkpointed: trimmed');
    await engine.close();
    await store.close();
    await deleteStream(stream);
  });
});

/** A TCP relay to nats-server that can be cut, as a network partition or a server crash would. */
async function startProxy(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(4222, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
