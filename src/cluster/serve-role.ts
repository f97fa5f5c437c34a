/**
 * `vigil serve --role ingest|scorer` (docs/cluster.md): a cluster node over NATS JetStream and
 * the shared PostgreSQL store. Both serve HTTP (health, readiness, metrics, queries, the live
 * stream from the event bus); an ingest node also takes points (HTTP and gRPC) into the stream;
 * a scorer leases partitions and scores them, and alerts on their events. Stops in reverse
 * start order on SIGTERM/SIGINT, like the single process.
 */
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Alerting } from '../alerts/alerting.js';
import { alertSettings } from '../alerts/config.js';
import { rateLimitOptions } from '../auth/rate-limit-config.js';
import { openAuthenticator, WatchedTokens } from '../auth/tokens-watch.js';
import { serviceRegistry, stopOnSignals, type Running } from '../cli/serve.js';
import { registerServeRoutes } from '../cli/serve-routes.js';
import type { ServeSettings } from '../cli/serve-settings.js';
import { byName, loadStartStrategies, storeStrategies } from '../cli/serve-strategies.js';
import { engineOptions } from '../engine/config.js';
import { JetStreamLog } from '../engine/log/jetstream-log.js';
import { spooledBatchCodec } from '../engine/log/jetstream-log-codec.js';
import { VigilError } from '../errors.js';
import { startGrpcServer } from '../ingest/grpc/server.js';
import { mqttConfig } from '../ingest/mqtt/config.js';
import { watchStrategyDir } from '../engine/strategy-watch.js';
import { httpLimits } from '../server/config.js';
import { buildHttpServer } from '../server/http.js';
import { registerStrategyRoutes } from '../server/strategy-routes.js';
import { strategyReloadFailuresCounter } from '../metrics/registry.js';
import { storeOptions } from '../store/config.js';
import { openStore } from '../store/open-store.js';
import { applyConfigUnits } from '../server/metric-units-config.js';
import { FeedHub, followBus } from './event-bus.js';
import { IngestPublisher } from './ingest.js';
import { LeaseKeeper } from './leases.js';
import { clusterNodeEngine } from './node-engine.js';
import { ScorerRunner } from './scorer.js';
import { ClusterStrategies } from './cluster-strategies.js';
import { ClusterShadows } from './cluster-shadows.js';
import { registerShadowRoutes } from '../server/shadow-routes.js';
import { ScorerShadows } from './scorer-shadows.js';
import { relayDetect } from './detect-relay.js';
import { DEFAULT_LIMITS } from '../engine/validate.js';
import { watchAnnouncements } from './strategy-announcements.js';

async function connectNats(servers: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: servers.split(',').map((s) => s.trim()),
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (error) {
    throw new VigilError(
      'VIGIL_ERR_LOG_UNAVAILABLE',
      `cannot connect to NATS at ${servers}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

export async function serveClusterRole(settings: ServeSettings): Promise<void> {
  const { file: config, host, cluster } = settings;
  const role = cluster.role;
  const jsonLine = (level: number) => (msg: string) => {
    process.stdout.write(`${JSON.stringify({ level, time: Date.now(), msg })}\n`);
  };
  let warn = jsonLine(40);
  const warnLater = (msg: string): void => warn(msg);
  let info = jsonLine(30);
  const infoLater = (msg: string): void => info(msg);
  const strategies = await loadStartStrategies(settings.strategies);
  const running: Running[] = [];
  const started = (name: string, stop: (deadline: number) => unknown, weight?: number) =>
    running.push({ name, stop, ...(weight === undefined ? {} : { weight }) });
  try {
    const registry = serviceRegistry();
    const auth = await openAuthenticator(settings.authTokens, {
      registry,
      log: { info: infoLater, warn: warnLater },
    });
    if (auth instanceof WatchedTokens) started('tokens', () => auth.close());
    const store = await openStore({
      ...storeOptions(config.store ?? {}, settings),
      log: warnLater,
    });
    started('store', () => store.close());
    const nc = await connectNats(cluster.nats ?? '');
    started('nats', () => nc.drain());
    const js = jetstream(nc, { timeout: 5000 });
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    // Every node sees the cluster's events; a scorer also its own partitions' for alerting.
    const bus = new FeedHub(warnLater);
    const unfollow = followBus(nc, cluster.eventsSubject, bus, warnLater);
    started('event bus', () => unfollow());

    // Strategy changes: accepted on any node, announced in a KV bucket every scorer watches.
    const kvm = new Kvm(nc);
    const announcements = await kvm.create(cluster.strategyBucket, { history: 1 });
    await storeStrategies(store, strategies, warnLater);
    // Config-as-code units, as on a single process (every node's file should agree: last wins).
    if (config.units !== undefined)
      await applyConfigUnits(store.metricUnits, config.units, warnLater);
    const reloadFailures = strategyReloadFailuresCounter(registry);
    const onStrategyFailure = (strategy: string) => reloadFailures.inc({ strategy });
    const changes = await ClusterStrategies.open({
      onFailure: onStrategyFailure,
      kv: announcements,
      store,
      strategies: byName(strategies.fromDir),
      fallback: strategies.fallback.strategy,
      log: warnLater,
    });
    started('strategy changes', () => changes.close());
    // Shadow runs: started on any node, stored, announced in the same bucket (docs/cluster.md).
    const shadows = new ClusterShadows(announcements, store, changes, warnLater);
    if (settings.strategies !== undefined) {
      // A changed file is announced cluster-wide like a PUT (every node watching one mounted
      // directory proposes it; all but one find it announced already).
      const known = new Map(strategies.fromDir.map((s) => [s.file, s.yaml]));
      const dir = settings.strategies;
      const watcher = watchStrategyDir(
        { dir, slots: changes, log: warnLater, onFailure: onStrategyFailure },
        known,
      );
      started('strategy watcher', () => watcher.close());
    }

    let publisher: IngestPublisher | undefined;
    let runner: ScorerRunner | undefined;
    let keeper: LeaseKeeper | undefined;
    if (role === 'ingest') {
      publisher = await IngestPublisher.open(nc, cluster, { log: warnLater });
      started('publisher', () => publisher?.close());
    } else {
      // The stream is checked (or created) with its partition count before leasing any.
      const check = await JetStreamLog.open(
        {
          connection: nc,
          stream: cluster.stream,
          partitions: cluster.partitions,
          codec: spooledBatchCodec,
        },
        () => undefined,
      );
      await check.close();
      const alertConfig = alertSettings(config.alerts ?? {}, `http://${host}:${settings.port}`);
      const { deadLetters } = store;
      const alerting = new Alerting({
        settings: alertConfig,
        deadLetters,
        registry,
        log: warnLater,
      });
      started('alerting', () => alerting.close());
      const local = new FeedHub(warnLater);
      alerting.attach(local);
      // Set before any partition starts (below); a partition's last counters go through it.
      const shadowSync: { current?: ScorerShadows } = {};
      runner = new ScorerRunner({
        nc,
        js,
        jsm,
        cluster,
        hub: local,
        log: infoLater,
        warn: warnLater,
        onStrategyFailure,
        onShadowCounters: (partition, counters) =>
          shadowSync.current?.publish(partition, counters, true) ?? Promise.resolve(),
        engine: {
          store,
          ...engineOptions(config.engine ?? {}),
          workers: 0,
          strategies: byName(strategies.fromDir),
          defaultStrategy: strategies.fallback.strategy,
          resumeStrategies: true,
          log: warnLater,
        },
      });
      const scoring = runner;
      const unwatch = await watchAnnouncements(
        announcements,
        (name, version) => void scoring.announce(name, version),
        warnLater,
      );
      started('strategy announcements', () => unwatch());
      // Before leasing, so every partition starts with the running shadow runs.
      const syncing = await ScorerShadows.open({
        kv: announcements,
        store,
        runner: scoring,
        warn: warnLater,
      });
      shadowSync.current = syncing;
      started('shadow runs', () => syncing.close());
      const kv = await kvm.create(cluster.leaseBucket, { ttl: cluster.leaseTtlMs, history: 1 });
      const member = `${hostname().replace(/[^-_a-zA-Z0-9]/g, '_')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      const scorer = runner;
      keeper = new LeaseKeeper({
        kv,
        member,
        partitions: cluster.partitions,
        ttlMs: cluster.leaseTtlMs,
        start: (p) => scorer.start(p),
        stop: (p) => scorer.stop(p),
        log: infoLater,
        warn: warnLater,
      });
      const leases = keeper;
      started('scorer', () => leases.close(), 6);
    }

    let ready = false;
    // The limits the ingest publisher and the scorers' engines validate with (the defaults).
    const engine = clusterNodeEngine(role, bus, publisher, (points) =>
      relayDetect(nc, cluster.stream, cluster.partitions, DEFAULT_LIMITS, points),
    );
    const app = await buildHttpServer({
      auth,
      engine,
      store,
      registry,
      logger: { level: settings.logLevel },
      limits: httpLimits(config.limits ?? {}),
      rateLimits: rateLimitOptions(config.rate_limits ?? {}),
      isReady: () => ready && !nc.isClosed(),
    });
    const log = app.log;
    warn = (msg) => log.warn(msg);
    info = (msg) => log.info(msg);
    const scorer = runner;
    const leases = keeper;
    app.get('/v1/cluster', async () => ({
      role,
      stream: cluster.stream,
      partitions: cluster.partitions,
      ...(scorer &&
        leases && { leased: leases.running(), leases: leases.holding(), scoring: scorer.status() }),
    }));
    registerStrategyRoutes(app, changes);
    registerShadowRoutes(app, shadows);
    if (role === 'ingest') {
      await registerServeRoutes(app, { engine, store, registry, auth }, config);
    }
    await app.listen({ port: settings.port, host });
    const grpc =
      role === 'ingest'
        ? await startGrpcServer({ engine, registry, port: settings.grpcPort, host, auth })
        : undefined;
    started('servers', () => Promise.all([app.close(), grpc?.close()]));
    if (role === 'ingest' && config.mqtt !== undefined) {
      // As in the single process; several ingest nodes share one `$share/…` subscription.
      const { startMqttSubscriber } = await import('../ingest/mqtt/subscriber.js');
      const mqtt = mqttConfig(config.mqtt);
      const subscriber = await startMqttSubscriber({
        engine,
        registry,
        log,
        config: mqtt,
        units: store.metricUnits,
      });
      started('mqtt', () => subscriber.stop());
    }
    await leases?.begin();
    ready = true;
    const http = `http://${host}:${(app.server.address() as AddressInfo).port}`;
    log.info({ role, http, nats: cluster.nats, stream: cluster.stream }, 'vigil serving');
    stopOnSignals(running, log, (config.shutdown_timeout_s ?? 10) * 1000);
  } catch (err) {
    for (const c of [...running].reverse()) {
      await Promise.resolve()
        .then(() => c.stop(Infinity))
        .catch(() => undefined);
    }
    throw err;
  }
}
