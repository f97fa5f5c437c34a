/**
 * `vigil serve`: the one place the service is assembled. Components start in order (the API
 * tokens, storage, alerting, the engine, hot reload and shadow runs, the HTTP and gRPC servers,
 * the strategy watcher, MQTT, the demo) and stop in the reverse order on SIGTERM/SIGINT, or when a later one
 * fails to start. Settings are resolved and validated before anything starts (serve-settings.ts);
 * each subsystem owns its config section and its routes (docs/operations.md).
 */
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Alerting } from '../alerts/alerting.js';
import { alertSettings } from '../alerts/config.js';
import { isLoopback } from '../auth/config.js';
import { openAuthenticator, WatchedTokens } from '../auth/tokens-watch.js';
import { rateLimitOptions } from '../auth/rate-limit-config.js';
import { engineOptions } from '../engine/config.js';
import { createEngine } from '../engine/create-engine.js';
import { ShadowManager, runningShadows } from '../engine/shadow/shadow-manager.js';
import { StrategySlots } from '../engine/strategy-slots.js';
import { watchStrategyDir } from '../engine/strategy-watch.js';
import { startDemo } from '../ingest/demo/pumps.js';
import { mqttConfig } from '../ingest/mqtt/config.js';
import { removeTotalGauges, strategyReloadFailuresCounter } from '../metrics/registry.js';
import { httpLimits } from '../server/config.js';
import { applyConfigUnits } from '../server/metric-units-config.js';
import { DurableFeed } from '../incidents/durable-feed.js';
import { checkModelDir, modelServingConfig } from '../serving/config.js';
import type { ModelServing, ModelServingConfig } from '../serving/serve-models.js';
import { storeOptions } from '../store/config.js';
import { openStore } from '../store/open-store.js';
import { loadTlsMaterial } from '../tls/material.js';
import { watchTls } from '../tls/reloader.js';
import { resolveSettings, type ServeFlags, type ServeSettings } from './serve-settings.js';
import { byName, loadStartStrategies, storeStrategies } from './serve-strategies.js';

/** A started component and its way down. */
export interface Running {
  readonly name: string;
  /** Stop by `deadline` (`performance.now()` time): past it, shutdown goes on without it. */
  stop(deadline: number): unknown;
  /** Its share of the shutdown budget against the other stages still to stop; default 1. */
  readonly weight?: number;
}

/** Seconds `vigil serve` may take to stop, whatever the store is doing (docs/operations.md). */
export const DEFAULT_SHUTDOWN_TIMEOUT_S = 10;

/**
 * Stop in the reverse of start order within `budgetMs` in all: each stage gets the time left,
 * shared by weight among the stages still to stop (time a stage does not use goes to the next).
 * A stage past its deadline is left behind and counts as a failure; the first failure is thrown
 * once all were tried.
 */
async function stopAll(
  running: readonly Running[],
  log?: FastifyBaseLogger,
  budgetMs = DEFAULT_SHUTDOWN_TIMEOUT_S * 1000,
): Promise<void> {
  const end = performance.now() + budgetMs;
  const stages = [...running].reverse();
  let failure: unknown;
  for (const [i, c] of stages.entries()) {
    const weights = stages.slice(i).reduce((sum, s) => sum + (s.weight ?? 1), 0);
    const share = (Math.max(0, end - performance.now()) * (c.weight ?? 1)) / weights;
    const deadline = performance.now() + share;
    try {
      const stopped = Promise.resolve().then(() => c.stop(deadline));
      if (!(await settlesBy(stopped, deadline))) {
        throw new Error(`did not stop within its ${Math.round(share)} ms of the shutdown budget`);
      }
    } catch (err) {
      log?.error({ err, component: c.name }, 'stop failed');
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
}

/** Whether `work` settled by `deadline` (`performance.now()` time); its rejection is thrown. */
async function settlesBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
  });
  work.catch(() => undefined); // left behind past the deadline: its outcome is ignored
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The HTTP and gRPC servers' modules (fastify, grpc-js, their plugins: most of the start's
 * imports), loaded while the store opens: PGlite compiles its WebAssembly on other threads and
 * reads its files in between, so the two overlap instead of following each other.
 */
async function serverModules() {
  const [http, routes, grpc] = await Promise.all([
    import('../server/http.js'),
    import('./serve-routes.js'),
    import('../ingest/grpc/server.js'),
  ]);
  return {
    buildHttpServer: http.buildHttpServer,
    registerServeRoutes: routes.registerServeRoutes,
    startGrpcServer: grpc.startGrpcServer,
  };
}

/** Start everything; resolves once serving. Shutdown is on SIGTERM/SIGINT. */
export async function serve(settings: ServeSettings): Promise<void> {
  if (settings.cluster.role !== 'all') {
    const { serveClusterRole } = await import('../cluster/serve-role.js');
    return serveClusterRole(settings);
  }
  const servers = serverModules();
  servers.catch(() => undefined); // awaited below; a start that fails earlier leaves it unread
  const { file: config, host } = settings;
  // JSON lines like the server's own (pino levels) until its logger exists, then that logger.
  const jsonLine =
    (level: number) =>
    (msg: string): void => {
      process.stdout.write(`${JSON.stringify({ level, time: Date.now(), msg })}\n`);
    };
  let warn = jsonLine(40);
  const warnLater = (msg: string): void => warn(msg);
  let info = jsonLine(30);
  // Checked before anything starts: strategies, the model directory, MQTT topics, alert secrets.
  const strategies = await loadStartStrategies(settings.strategies);
  if (settings.models !== undefined) {
    await checkModelDir(settings.models);
    // The `onnx` detector finds its models here, in this thread and in the scoring workers
    // (which copy the environment when they start, after this).
    process.env['VIGIL_MODELS'] = settings.models;
  }
  const mqtt = config.mqtt === undefined ? undefined : mqttConfig(config.mqtt);
  const tlsFiles = settings.tls;
  const tlsAtStart = tlsFiles && (await loadTlsMaterial(tlsFiles));
  const alertConfig = alertSettings(
    config.alerts ?? {},
    `${settings.tls ? 'https' : 'http'}://${host}:${settings.port}`,
  );

  const running: Running[] = [];
  const started = (name: string, stop: (deadline: number) => unknown, weight?: number) =>
    running.push({ name, stop, ...(weight === undefined ? {} : { weight }) });
  try {
    const registry = serviceRegistry();
    // Every HTTP route (and the gRPC server) checks callers against this; off without a file.
    const auth = await openAuthenticator(settings.authTokens, {
      registry,
      log: { info: (msg) => info(msg), warn: warnLater },
    });
    if (auth instanceof WatchedTokens) started('tokens', () => auth.close());
    await mkdir(settings.dataDir, { recursive: true });
    const store = await openStore({
      ...storeOptions(config.store ?? {}, settings),
      log: warnLater,
    });
    started('store', () => store.close());
    await storeStrategies(store, strategies, warnLater);
    // Config-as-code: the file's units replace what the API set for those metrics, every start.
    if (config.units !== undefined)
      await applyConfigUnits(store.metricUnits, config.units, warnLater);
    const tlsLog = { info: (msg: string) => info(msg), warn: warnLater };
    const tls =
      tlsFiles &&
      tlsAtStart &&
      watchTls({ files: tlsFiles, initial: tlsAtStart, registry, log: tlsLog });
    if (tls) started('tls watcher', () => tls.close());
    const { deadLetters } = store;
    const alerting = new Alerting({ settings: alertConfig, deadLetters, registry, log: warnLater });
    started('alerting', () => alerting.close()); // after the engine: it drains into the sinks
    // Events and incidents stored before anything names them (src/incidents/durable-feed.ts).
    const durable = new DurableFeed({
      store,
      grouper: alerting.grouper,
      onIncident: (change) => alerting.notify(change),
      log: warnLater,
    });
    started('incident feed', () => durable.close()); // after the engine, before alerting
    await alerting.restoreAcknowledged(store.incidents);
    const engine = await createEngine({
      store,
      registry,
      ...engineOptions(config.engine ?? {}),
      strategies: byName(strategies.fromDir),
      defaultStrategy: strategies.fallback.strategy,
      spoolDir: path.join(settings.dataDir, 'spool'),
      resumeStrategies: true,
      // Running shadow runs score from the start, the spool replay included (docs/shadow.md).
      shadows: await runningShadows(store, warnLater),
      log: warnLater,
    });
    // Most of the shutdown budget: draining into the store; a second of it kept to close the log.
    started('engine', (deadline) => engine.close({ deadline: deadline - 1000 }), 6);
    durable.attach(engine);
    const served = durable.engine(engine);
    const reloadFailures = strategyReloadFailuresCounter(registry);
    const onFailure = (strategy: string) => reloadFailures.inc({ strategy });
    const slots = new StrategySlots({ engine, store, log: warnLater, onFailure });
    const shadows = await ShadowManager.open({ engine, store, slots, registry, log: warnLater });
    started('shadows', () => shadows.close());

    let ready = false;
    const { buildHttpServer, registerServeRoutes, startGrpcServer } = await servers;
    const app = await buildHttpServer({
      auth,
      engine: served,
      store,
      registry,
      logger: { level: settings.logLevel },
      limits: httpLimits(config.limits ?? {}),
      rateLimits: rateLimitOptions(config.rate_limits ?? {}),
      isReady: () => ready,
      strategies: slots,
      shadows,
      ...(tls && { tls }),
    });
    const log = app.log;
    warn = (msg) => log.warn(msg);
    info = (msg) => log.info(msg);
    if (!auth.enabled) {
      log.warn(
        settings.insecure && !isLoopback(host)
          ? `authentication off and --insecure: anyone who reaches ${host} can read and change everything; give --auth-tokens FILE`
          : `authentication off: no tokens file (--auth-tokens, auth.tokens_file), serving loopback ${host} only`,
      );
    } else if (auth instanceof WatchedTokens) {
      log.info(`authentication on: ${auth.size} tokens from ${settings.authTokens ?? ''}`);
    }
    await registerServeRoutes(
      app,
      {
        engine: served,
        store,
        registry,
        auth,
        secureCookie: settings.tls !== undefined,
        incidents: {
          publicUrl: alertConfig.publicUrl,
          onAcknowledge: (i) => alerting.acknowledge({ id: i.id, by: i.acknowledgedBy }),
          onResolve: (i) => alerting.resolveByHand(i.id),
        },
      },
      config,
    );
    if (settings.models !== undefined) {
      const models = await startModels(
        app,
        registry,
        modelServingConfig(config.models ?? {}, settings.models),
      );
      started('models', () => models.close()); // after the HTTP server: requests end first
    }
    await app.listen({ port: settings.port, host });
    const grpc = await startGrpcServer({
      engine,
      registry,
      port: settings.grpcPort,
      host,
      auth,
      ...(tls && { tls }),
    });
    started('servers', () => Promise.all([app.close(), grpc.close()]));
    if (settings.strategies !== undefined) {
      const known = new Map(strategies.fromDir.map((s) => [s.file, s.yaml]));
      const dir = settings.strategies;
      const watcher = watchStrategyDir({ dir, slots, log: warnLater, onFailure }, known);
      started('strategy watcher', () => watcher.close());
    }
    if (mqtt !== undefined) {
      // Imported only when configured (MQTT.js takes ~0.5 s); connects in the background, a
      // broker that is down is retried with backoff.
      const { startMqttSubscriber } = await import('../ingest/mqtt/subscriber.js');
      const subscriber = await startMqttSubscriber({
        engine,
        registry,
        log,
        config: mqtt,
        units: store.metricUnits,
      });
      started('mqtt', () => subscriber.stop());
    }
    if (settings.demo) {
      const demo = startDemo({ engine, log: warnLater });
      started('demo', () => demo.stop());
    }
    ready = true;
    const http = `${tls ? 'https' : 'http'}://${host}:${(app.server.address() as AddressInfo).port}`;
    const { backend, timescale } = store.info;
    const where = { http, grpc: `${host}:${grpc.port}`, store: backend, timescale };
    log.info({ ...where, demo: settings.demo }, 'vigil serving');
    stopOnSignals(running, log, (config.shutdown_timeout_s ?? DEFAULT_SHUTDOWN_TIMEOUT_S) * 1000);
  } catch (err) {
    await stopAll(running).catch(() => undefined);
    throw err;
  }
}

/** One registry for every component, with Node's process metrics (docs/operations.md). */
export function serviceRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  removeTotalGauges(registry);
  return registry;
}

/**
 * Model serving on `app`, before it listens: the models present now are served at once, later
 * changes hot-reload. Imported only when asked for: onnxruntime's native library is large.
 */
async function startModels(
  app: FastifyInstance,
  registry: Registry,
  config: ModelServingConfig,
): Promise<ModelServing> {
  const { startModelServing } = await import('../serving/serve-models.js');
  const log = app.log;
  return startModelServing(app, registry, config, {
    info: (msg) => log.info(msg),
    warn: (msg) => log.warn(msg),
  });
}

/**
 * SIGTERM/SIGINT: stop everything within `budgetMs` and exit 0 (1 when a stage failed or ran out
 * of time); a second signal exits at once with 1. The exit is explicit: a connection to an
 * unreachable store must not keep the process alive past the budget.
 */
export function stopOnSignals(
  running: readonly Running[],
  log: FastifyBaseLogger,
  budgetMs: number,
): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, budgetMs }, 'shutting down');
    let code = 0;
    try {
      await stopAll(running, log, budgetMs);
      log.info('stopped');
    } catch (err) {
      log.error({ err }, 'shutdown failed or ran out of its budget');
      code = 1;
    }
    process.exit(code); // the logger writes synchronously: its last lines are out
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
}

/** The `serve` command with its flags. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the service: HTTP and gRPC ingest, query API, live stream, demo source')
    .option('--port <n>', 'HTTP port (env VIGIL_PORT or PORT; default 8080)')
    .option('--grpc-port <n>', 'gRPC port (env VIGIL_GRPC_PORT; default 50051)')
    .option('--host <addr>', 'address to listen on (env VIGIL_HOST; default 127.0.0.1)')
    .option('--data-dir <dir>', 'embedded storage and spool (env VIGIL_DATA_DIR; default ./data)')
    .option(
      '--database-url <url>',
      'PostgreSQL server instead of embedded storage (env DATABASE_URL)',
    )
    .option('--strategies <dir>', 'directory of strategy YAML files (env VIGIL_STRATEGIES)')
    .option('--models <dir>', 'directory of ONNX models served under /v1/models (env VIGIL_MODELS)')
    .option('--config <file>', 'YAML configuration file (env VIGIL_CONFIG)')
    .addOption(
      new Option(
        '--log-level <level>',
        'fatal … trace, silent (env VIGIL_LOG_LEVEL; default info)',
      ),
    )
    .option(
      '--tls-cert <file>',
      'serve HTTPS and gRPC over TLS: PEM certificate (env VIGIL_TLS_CERT)',
    )
    .option('--tls-key <file>', 'PEM private key of --tls-cert (env VIGIL_TLS_KEY)')
    .option(
      '--tls-client-ca <file>',
      'require client certificates signed by this PEM CA (env VIGIL_TLS_CLIENT_CA)',
    )
    .option('--auth-tokens <file>', 'API tokens file (env VIGIL_AUTH_TOKENS; default: auth off)')
    .option('--insecure', 'serve a non-loopback --host without tokens (env VIGIL_INSECURE)')
    .option('--role <role>', 'all, ingest or scorer (env VIGIL_ROLE; default all; docs/cluster.md)')
    .option(
      '--nats <url>',
      'NATS JetStream server of the ingest and scorer roles (env VIGIL_NATS_URL)',
    )
    .option('--no-demo', 'do not start the built-in demo source (env VIGIL_DEMO=false)')
    .action(async (flags: ServeFlags, command: Command) => {
      const settings = await resolveSettings(flags, command.getOptionValueSource('demo') === 'cli');
      await serve(settings);
    });
}
