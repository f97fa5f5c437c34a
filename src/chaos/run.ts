/**
 * The chaos run: a private PostgreSQL (or the embedded store), `vigil serve` killed with SIGKILL
 * at seeded instants while a client per protocol streams with retries, PostgreSQL crashed and
 * restarted in between; after each round the acknowledged points are compared with the store.
 * Then the anomaly feed's events are compared with those of an uninterrupted run of the same
 * input.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { feedDevice, feedSource, FEED_DEVICES, type FeedShape } from './anomaly-feed.js';
import { Checker, type ProtocolCheck } from './checker.js';
import { grpcSender } from './clients/grpc.js';
import { httpSender } from './clients/http.js';
import { influxSender } from './clients/influx.js';
import { mqttSender } from './clients/mqtt.js';
import { remoteWriteSender } from './clients/remote-write.js';
import type { Sender } from './clients/sender.js';
import { diffEvents } from './event-diff.js';
import { freePort } from '../net/free-port.js';
import { sleep } from '../timing/sleep.js';
import { batchAt, BASE_TIME, PROTOCOLS, type Protocol } from './points.js';
import { createPrivatePostgres, type PrivatePostgres } from './private-postgres.js';
import { summaryText, tableHeader, tableRow, type RoundRow, type Summary } from './report.js';
import { chaosSchedule, type RoundPlan } from './schedule.js';
import { deviceEvents, rawPoints, type StoredEvent } from './store-reader.js';
import { StreamingClient } from './streaming-client.js';
import { VigilProcess, type VigilOptions } from './vigil-process.js';

export interface ChaosOptions {
  readonly rounds: number;
  readonly pgRounds: number;
  readonly seed: number;
  readonly store: 'postgres' | 'pglite';
  readonly mqttUrl: string;
  readonly checkpointEveryMs: number;
  readonly feed: FeedShape;
  readonly print: (line: string) => void;
}

/** Everything to undo, newest first, also on Ctrl-C. */
export class Cleanup {
  private readonly steps: (() => Promise<unknown>)[] = [];
  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }
  private running: Promise<void> | null = null;
  /** Runs the steps once; a second call (Ctrl-C during the normal end) waits for the same. */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        await this.steps.pop()!().catch((err: unknown) =>
          process.stderr.write(`cleanup: ${String(err)}\n`),
        );
      }
    })();
    return this.running;
  }
}

const BATCH: Record<Protocol, number> = {
  http: 100,
  grpc: 100,
  influx: 100,
  remote_write: 100,
  mqtt: 20,
};
const PAUSE_MS: Record<Protocol, number> = {
  http: 30,
  grpc: 30,
  influx: 30,
  remote_write: 30,
  mqtt: 100,
};
const FEED_PAUSE_MS = 150;

function loadSource(run: string, protocol: Protocol) {
  let next = 0;
  return {
    next: () => {
      const batch = batchAt(run, protocol, next, BATCH[protocol]);
      next += batch.length;
      return batch;
    },
    acked: () => undefined,
  };
}

async function configFile(
  dir: string,
  name: string,
  options: ChaosOptions,
  mqttSection: { clientId: string; topic: string } | null,
): Promise<string> {
  const lines = ['engine:', `  checkpoint_every_ms: ${options.checkpointEveryMs}`];
  if (mqttSection) {
    lines.push(
      'mqtt:',
      `  url: ${options.mqttUrl}`,
      `  client_id: ${mqttSection.clientId}`,
      '  reconnect_min_ms: 200',
      '  reconnect_max_ms: 1000',
      '  subscriptions:',
      `    - topic: ${mqttSection.topic}/#`,
      '      format: json',
    );
  }
  const file = path.join(dir, name);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

/** The lines of a crashed service's output that say why. */
export function crashExcerpt(log: string): string {
  const lines = log.split('\n');
  const at = lines.findIndex((l) => /^(\w*Error\b|node:|\s+throw )/.test(l));
  return (at === -1 ? lines.slice(-12) : lines.slice(at, at + 14)).join('\n');
}

/** Reads until two reads 1 s apart agree (the event writer runs after the store writer). */
async function stableEvents(url: string, run: string): Promise<StoredEvent[]> {
  const read = async () =>
    (
      await Promise.all(
        Array.from({ length: FEED_DEVICES }, (_, d) => deviceEvents(url, feedDevice(run, d))),
      )
    ).flat();
  let last = await read();
  for (let i = 0; i < 30; i++) {
    await sleep(1000);
    const now = await read();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

async function feedStored(url: string, run: string, points: number): Promise<number> {
  let stored = 0;
  for (let d = 0; d < FEED_DEVICES; d++) {
    const raw = await rawPoints(url, feedDevice(run, d), 'level', BASE_TIME, Date.UTC(2100, 0, 1));
    stored += Math.min(points, new Set(raw.times).size);
  }
  return stored;
}

export async function runChaos(options: ChaosOptions, cleanup: Cleanup): Promise<Summary> {
  const started = Date.now();
  const { print } = options;
  const run = `chaos${options.seed}x${started.toString(36)}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-chaos-'));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));

  let pg: PrivatePostgres | null = null;
  if (options.store === 'postgres') {
    pg = await createPrivatePostgres();
    cleanup.add(() => pg!.remove());
    await pg.createDatabase('chaos');
    await pg.createDatabase('chaos_reference');
    print(`private PostgreSQL on 127.0.0.1:${pg.port}`);
  }
  const mqttClientId = `vigil-${run}`;
  const topic = `vigil-chaos/${run}`;
  cleanup.add(async () => {
    // Drop the persistent session the broker keeps for the service's subscription.
    const c = await mqtt.connectAsync(options.mqttUrl, { clientId: mqttClientId, clean: true });
    await c.endAsync();
  });
  const vigilOptions: VigilOptions = {
    port: await freePort(),
    grpcPort: await freePort(),
    dataDir: path.join(dir, 'data'),
    configFile: await configFile(dir, 'chaos.yaml', options, { clientId: mqttClientId, topic }),
    databaseUrl: pg?.url('chaos') ?? null,
  };
  await mkdir(vigilOptions.dataDir, { recursive: true });
  const live = new Set<VigilProcess>();
  cleanup.add(async () => {
    for (const v of live) await v.kill();
  });
  const spawnVigil = (o: VigilOptions = vigilOptions): VigilProcess => {
    const v = new VigilProcess(o);
    live.add(v);
    return v;
  };
  const killVigil = async (v: VigilProcess): Promise<void> => {
    await v.kill();
    live.delete(v);
  };

  let server = spawnVigil();
  await server.ready();
  print(
    `vigil serve ready at ${server.url} (run ${run}, seed ${options.seed}, store ${options.store})`,
  );

  const url = server.url;
  const senders: Record<Protocol, Sender> = {
    http: httpSender(url),
    grpc: grpcSender(`127.0.0.1:${vigilOptions.grpcPort}`),
    influx: influxSender(url),
    remote_write: remoteWriteSender(url),
    mqtt: mqttSender(options.mqttUrl, `${topic}/data`, `${run}-publisher`),
  };
  const clients = new Map<Protocol, StreamingClient>(
    PROTOCOLS.map((p) => [p, new StreamingClient(p, senders[p], loadSource(run, p), PAUSE_MS[p])]),
  );
  const feed = feedSource(run, options.seed, options.feed);
  const feedClient = new StreamingClient('feed', httpSender(url), feed, FEED_PAUSE_MS);
  const all = [...clients.values(), feedClient];
  cleanup.add(() => Promise.all(all.map((c) => c.close())));

  const fatal = (): void => {
    for (const c of all) if (c.fatal) throw new Error(`${c.name}: ${c.fatal.message}`);
  };
  const streamAll = () => all.forEach((c) => c.stream());
  const pauseAll = () => Promise.all(all.map((c) => c.pause()));
  const drainAll = async () => {
    const deadline = sleep(120_000).then(() => {
      throw new Error('clients did not get their last batches acknowledged within 120 s');
    });
    await Promise.race([Promise.all(all.map((c) => c.drain())), deadline]);
  };

  const checker = new Checker(run);
  const retries = () => all.reduce((n, c) => n + c.retries, 0);
  const roundsWithMissing: number[] = [];
  let extra = 0;
  let duplicates = 0;

  /** Every protocol's acked prefix against the store; MQTT waits for redelivery to land. */
  const checkAll = async (fromStart = false): Promise<Map<Protocol, ProtocolCheck>> => {
    await server.settle();
    const results = new Map<Protocol, ProtocolCheck>();
    for (const p of PROTOCOLS) {
      const acked = clients.get(p)!.ackedPoints;
      let r = await checker.check(server.url, p, acked, fromStart);
      // The broker redelivers to the new session at its own pace.
      for (let i = 0; p === 'mqtt' && r.missing > 0 && i < 120; i++) {
        await sleep(500);
        await server.settle();
        r = await checker.check(server.url, p, acked);
      }
      results.set(p, r);
    }
    return results;
  };

  const row = (
    plan: RoundPlan,
    kind: string,
    atMs: number,
    readyMs: number,
    checks: Map<Protocol, ProtocolCheck>,
  ): RoundRow => {
    const sum = (k: keyof ProtocolCheck) => [...checks.values()].reduce((n, c) => n + c[k], 0);
    if (sum('missing') > 0) roundsWithMissing.push(plan.round);
    extra = Math.max(extra, sum('extra'));
    duplicates = Math.max(duplicates, sum('duplicates'));
    return {
      round: plan.round,
      kind,
      atMs,
      acked: sum('acked'),
      stored: sum('stored'),
      missing: sum('missing'),
      extra: sum('extra'),
      duplicates: sum('duplicates'),
      retries: retries(),
      readyMs,
    };
  };

  const plan = chaosSchedule(options.seed, options.rounds, options.pgRounds);
  print(tableHeader());
  let kills = 0;
  let startupKills = 0;
  let outages = 0;
  const outageCrashes: { round: number; log: string }[] = [];
  for (const round of plan) {
    fatal();
    if (round.kind === 'kill') {
      streamAll();
      await sleep(round.killAfterMs);
      await killVigil(server);
      kills++;
      await pauseAll();
      let t = Date.now();
      server = spawnVigil();
      if (round.startupKillMs !== null) {
        await sleep(round.startupKillMs);
        await killVigil(server);
        startupKills++;
        t = Date.now();
        server = spawnVigil();
      }
      await server.ready();
      const readyMs = Date.now() - t;
      await drainAll();
      fatal();
      const checks = await checkAll();
      const kind = round.startupKillMs === null ? 'kill' : `kill+${round.startupKillMs}ms`;
      print(tableRow(row(round, kind, round.killAfterMs, readyMs, checks)));
    } else {
      if (pg === null) continue;
      streamAll();
      await sleep(round.stopAfterMs);
      await pg.crash();
      outages++;
      await sleep(round.outageMs);
      const t = Date.now();
      await pg.start();
      await sleep(1000);
      await pauseAll();
      let kind = 'pg';
      if (!server.alive) {
        // A finding, not the end of the run: note it, restart, and check nothing acked was lost.
        outageCrashes.push({ round: round.round, log: crashExcerpt(server.log()) });
        live.delete(server);
        kind = 'pg+crash';
        server = spawnVigil();
        await server.ready();
      }
      await drainAll();
      fatal();
      const checks = await checkAll();
      print(tableRow(row(round, kind, round.outageMs, Date.now() - t, checks)));
    }
  }

  // The rest of the anomaly feed, then everything once more from the start.
  feedClient.stream();
  while (!feedClient.finished) {
    fatal();
    await sleep(200);
  }
  await pauseAll();
  const final = await checkAll(true);
  const ackedByProtocol: Record<string, number> = {};
  const storedByProtocol: Record<string, number> = {};
  for (const [p, c] of final) {
    ackedByProtocol[p] = c.acked;
    storedByProtocol[p] = c.stored;
  }
  const finalLost = [...final.values()].reduce((n, c) => n + c.missing, 0);
  const finalExtra = [...final.values()].reduce((n, c) => n + c.extra, 0);
  const finalDup = [...final.values()].reduce((n, c) => n + c.duplicates, 0);
  const feedPoints = feed.sentThrough() * FEED_DEVICES;
  const chaosFeedStored = await feedStored(server.url, run, options.feed.pointsPerDevice);
  const chaosEvents = await stableEvents(server.url, run);
  const code = await server.stop();
  live.delete(server);
  if (code !== 0) print(`vigil serve exited ${code} on SIGTERM:\n${server.log()}`);

  // The same feed, uninterrupted, into a store of its own.
  const refDir = path.join(dir, 'reference');
  await mkdir(refDir, { recursive: true });
  const reference = spawnVigil({
    ...vigilOptions,
    dataDir: refDir,
    configFile: await configFile(dir, 'reference.yaml', options, null),
    databaseUrl: pg?.url('chaos_reference') ?? null,
  });
  await reference.ready();
  const refClient = new StreamingClient(
    'reference feed',
    httpSender(reference.url),
    feedSource(run, options.seed, options.feed),
    0,
  );
  refClient.stream();
  while (!refClient.finished) {
    if (refClient.fatal) throw refClient.fatal;
    await sleep(100);
  }
  await refClient.close();
  await reference.settle();
  const referenceEvents = await stableEvents(reference.url, run);
  await reference.stop();
  live.delete(reference);

  return {
    outageCrashes,
    rounds: plan.length,
    kills,
    startupKills,
    outages,
    ackedByProtocol,
    storedByProtocol,
    lost: finalLost,
    roundsWithMissing,
    extra: Math.max(extra, finalExtra),
    duplicates: Math.max(duplicates, finalDup),
    retries: retries(),
    feedPoints,
    feedStored: chaosFeedStored,
    events: diffEvents(chaosEvents, referenceEvents),
    chaosEvents: chaosEvents.length,
    referenceEvents: referenceEvents.length,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

export { summaryText };
