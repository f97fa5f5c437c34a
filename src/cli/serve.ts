/**
 * `vigil serve`: the service. Wires storage, the engine, the HTTP server, the gRPC server and the
 * demo source together, in that order, and takes them down in the reverse order on SIGTERM/SIGINT.
 *
 * Configuration, highest precedence first: command-line flag, environment variable, config file
 * (YAML, `--config`), default. Everything is validated before anything starts; an invalid value
 * fails with VIGIL_ERR_CONFIG naming the key and where it came from (docs/operations.md).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Command, Option } from 'commander';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Alerting } from '../alerts/alerting.js';
import { alertSettings, alertsConfigSchema } from '../alerts/config.js';
import { registerAlertRoutes } from '../alerts/routes.js';
import { VigilError } from '../errors.js';
import { builtinStrategyPath, loadStrategyFile } from '../strategy-files/load.js';
import type { Strategy } from '../core/strategy/schema.js';
import { createEngine, defaultWorkers } from '../engine/create-engine.js';
import type { Engine } from '../engine/engine.js';
import { StrategySlots } from '../engine/strategy-slots.js';
import { ShadowManager, runningShadows } from '../engine/shadow/shadow-manager.js';
import { watchStrategyDir } from '../engine/strategy-watch.js';
import { removeTotalGauges, strategyReloadFailuresCounter } from '../metrics/registry.js';
import { startGrpcServer, type GrpcServer } from '../ingest/grpc/server.js';
import { startDemo, type DemoSource } from '../ingest/demo/pumps.js';
import { registerRemoteWriteRoutes } from '../ingest/remote-write/routes.js';
import { remoteWriteOptions, remoteWriteSchema } from '../ingest/remote-write/config.js';
import { registerInfluxRoutes } from '../ingest/influx/routes.js';
import type { MqttSubscriber } from '../ingest/mqtt/subscriber.js';
import { buildHttpServer } from '../server/http.js';
import { registerDashboard } from '../server/dashboard/routes.js';
import { openStore } from '../store/open-store.js';
import type { ModelServing } from '../serving/serve-models.js';
import type { Store } from '../store/store.js';

const port = z.number().int().min(0).max(65_535);
const positive = z.number().int().positive();

/** The config file's schema; every key optional, unknown keys are errors. */
export const configSchema = z
  .object({
    port,
    grpc_port: port,
    host: z.string().min(1),
    data_dir: z.string().min(1),
    database_url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL'),
    strategies: z.string().min(1),
    demo: z.boolean(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    limits: z
      .object({
        body_bytes: positive,
        points_per_request: positive,
        buckets_per_query: positive,
      })
      .partial()
      .strict(),
    engine: z
      .object({
        queue_limit: positive,
        checkpoint_every_ms: z.number().int().min(0),
        // Scoring worker threads; 0 = score on the main thread (docs/engine.md).
        workers: z.number().int().min(0).max(64),
      })
      .partial()
      .strict(),
    models: z
      .object({
        dir: z.string().min(1),
        body_bytes: positive,
        max_elements: positive,
        threads: z.number().int().min(0),
      })
      .partial()
      .strict(),
    store: z
      .object({
        retention_days: z.number().min(0),
        timescale: z.enum(['auto', 'require', 'off']),
      })
      .partial()
      .strict(),
    remote_write: remoteWriteSchema,
    /** Influx line protocol (`/api/v2/write`, `/write`): docs/integrations-influx-mqtt.md. */
    influx: z
      .object({
        device_tag: z.string().min(1),
        metric_name: z.enum(['measurement.field', 'field']),
      })
      .partial()
      .strict(),
    /** MQTT subscription: docs/integrations-influx-mqtt.md. */
    mqtt: z
      .object({
        url: z
          .string()
          .regex(/^(mqtts?|wss?|tcp|tls):\/\//, 'expected mqtt://, mqtts://, ws:// or wss://'),
        username: z.string().optional(),
        password: z.string().optional(),
        ca_file: z.string().min(1).optional(),
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
        client_id: z.string().min(1).max(128).optional(),
        subscriptions: z
          .array(
            z
              .object({
                topic: z.string().min(1),
                format: z.enum(['json', 'compact', 'auto']).optional(),
                timestamp_field: z.string().min(1).optional(),
              })
              .strict(),
          )
          .min(1),
        max_payload_bytes: positive.optional(),
        reconnect_min_ms: positive.optional(),
        reconnect_max_ms: positive.optional(),
        keepalive_s: positive.optional(),
      })
      .strict(),
    alerts: alertsConfigSchema,
  })
  .partial()
  .strict();

export type ServeConfig = z.infer<typeof configSchema>;

export interface ServeSettings {
  readonly port: number;
  readonly grpcPort: number;
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly strategies: string | undefined;
  /** ONNX model directory served under /v1/models (docs/model-serving.md); none by default. */
  readonly models: string | undefined;
  readonly demo: boolean;
  readonly logLevel: string;
  readonly file: ServeConfig;
}

interface ServeFlags {
  port?: string;
  grpcPort?: string;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
  strategies?: string;
  models?: string;
  config?: string;
  demo: boolean;
  logLevel?: string;
}

function configError(problems: readonly string[]): VigilError {
  return new VigilError('VIGIL_ERR_CONFIG', problems.join('\n'));
}

async function readConfigFile(file: string): Promise<ServeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw configError([
      `${file}: cannot read (${err instanceof Error ? err.message : String(err)})`,
    ]);
  }
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (err) {
    throw configError([`${file}: not YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const result = configSchema.safeParse(document);
  if (result.success) return result.data;
  throw configError(
    result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        const where = issue.path.length > 0 ? `${key}: ` : '';
        return `${file}: ${where}unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      }
      return `${file}: ${key}: ${issue.message}`;
    }),
  );
}

/** The first of flag, environment variables, file value that is set, and where it came from. */
function pick(
  flag: string | undefined,
  flagName: string,
  envNames: readonly string[],
  env: NodeJS.ProcessEnv,
): { value: string; source: string } | undefined {
  if (flag !== undefined) return { value: flag, source: flagName };
  for (const name of envNames) {
    const value = env[name];
    if (value !== undefined && value !== '') return { value, source: name };
  }
  return undefined;
}

function portFrom(picked: { value: string; source: string }, problems: string[]): number {
  const n = Number(picked.value);
  if (!/^\d+$/.test(picked.value) || n > 65_535) {
    problems.push(
      `${picked.source}: expected a port number 0–65535, found ${JSON.stringify(picked.value)}`,
    );
    return 0;
  }
  return n;
}

/** Merge flags, environment and file; throws VIGIL_ERR_CONFIG listing every problem. */
export async function resolveSettings(
  flags: ServeFlags,
  demoFromCli: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServeSettings> {
  const configFile = pick(flags.config, '--config', ['VIGIL_CONFIG'], env);
  const file = configFile ? await readConfigFile(configFile.value) : {};
  const problems: string[] = [];

  const portPick = pick(flags.port, '--port', ['VIGIL_PORT', 'PORT'], env);
  const grpcPick = pick(flags.grpcPort, '--grpc-port', ['VIGIL_GRPC_PORT'], env);
  const urlPick = pick(
    flags.databaseUrl,
    '--database-url',
    ['DATABASE_URL', 'VIGIL_DATABASE_URL'],
    env,
  );
  if (urlPick && !/^postgres(ql)?:\/\//.test(urlPick.value)) {
    problems.push(`${urlPick.source}: expected a postgres:// or postgresql:// URL`);
  }
  let demo = file.demo ?? true;
  const demoEnv = env.VIGIL_DEMO;
  if (demoEnv !== undefined && demoEnv !== '') {
    if (/^(1|true|yes|on)$/i.test(demoEnv)) demo = true;
    else if (/^(0|false|no|off)$/i.test(demoEnv)) demo = false;
    else problems.push(`VIGIL_DEMO: expected true or false, found ${JSON.stringify(demoEnv)}`);
  }
  if (demoFromCli) demo = flags.demo;
  const levelPick = pick(flags.logLevel, '--log-level', ['VIGIL_LOG_LEVEL', 'LOG_LEVEL'], env);
  const logLevel = levelPick?.value ?? file.log_level ?? 'info';
  const levels = configSchema.shape.log_level.unwrap().options as readonly string[];
  if (!levels.includes(logLevel)) {
    problems.push(
      `${levelPick?.source ?? 'log_level'}: expected one of ${levels.join(', ')}, found ${JSON.stringify(logLevel)}`,
    );
  }

  const settings: ServeSettings = {
    port: portPick ? portFrom(portPick, problems) : (file.port ?? 8080),
    grpcPort: grpcPick ? portFrom(grpcPick, problems) : (file.grpc_port ?? 50051),
    host:
      pick(flags.host, '--host', ['VIGIL_HOST', 'HOST'], env)?.value ?? file.host ?? '127.0.0.1',
    dataDir:
      pick(flags.dataDir, '--data-dir', ['VIGIL_DATA_DIR'], env)?.value ??
      file.data_dir ??
      './data',
    databaseUrl: urlPick?.value ?? file.database_url,
    strategies:
      pick(flags.strategies, '--strategies', ['VIGIL_STRATEGIES'], env)?.value ?? file.strategies,
    models: pick(flags.models, '--models', ['VIGIL_MODELS'], env)?.value ?? file.models?.dir,
    demo,
    logLevel,
    file,
  };
  if (problems.length > 0) throw configError(problems);
  return settings;
}

interface LoadedStrategy {
  readonly strategy: Strategy;
  readonly yaml: string;
  readonly file: string;
}

async function loadStrategyDir(dir: string): Promise<LoadedStrategy[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (err) {
    throw configError([
      `--strategies ${dir}: cannot read the directory (${err instanceof Error ? err.message : String(err)})`,
    ]);
  }
  const loaded: LoadedStrategy[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    loaded.push({
      strategy: await loadStrategyFile(file),
      yaml: await readFile(file, 'utf8'),
      file,
    });
  }
  return loaded;
}

/** Gauges read from the engine at scrape time (skipped when the engine registered its own). */
function engineGauges(registry: Registry, engine: Engine): void {
  const gauge = (name: string, help: string, value: () => number | undefined) => {
    if (registry.getSingleMetric(name) !== undefined) return;
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = value();
        if (v !== undefined) this.set(v);
      },
    });
  };
  gauge(
    'vigil_engine_queued_points',
    'Points accepted and not yet stored and scored',
    () => engine.stats().queued,
  );
  gauge('vigil_engine_series', 'Series the engine holds state for', () => engine.stats().series);
  gauge(
    'vigil_checkpoint_age_seconds',
    'Seconds since the last checkpoint of detector state',
    () => {
      const last = engine.stats().lastCheckpointWallMs;
      return last === null ? undefined : (Date.now() - last) / 1000;
    },
  );
}

/** `{key: value}` when value is set, else nothing (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Start everything; resolves once serving. Shutdown is on SIGTERM/SIGINT. */
export async function serve(settings: ServeSettings): Promise<void> {
  const early = (msg: string, extra: object = {}) =>
    process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg, ...extra })}\n`);
  let warn: (msg: string) => void = (msg) => early(msg);

  const strategies: LoadedStrategy[] = settings.strategies
    ? await loadStrategyDir(settings.strategies)
    : [];
  const defaultFile = builtinStrategyPath('default');
  const defaultStrategy: LoadedStrategy = {
    strategy: await loadStrategyFile(defaultFile),
    yaml: await readFile(defaultFile, 'utf8'),
    file: defaultFile,
  };

  const {
    store: storeConfig = {},
    engine: engineConfig = {},
    limits = {},
    models: modelConfig = {},
  } = settings.file;
  if (settings.models !== undefined) {
    try {
      await readdir(settings.models);
    } catch (err) {
      throw configError([
        `--models ${settings.models}: cannot read the directory (${err instanceof Error ? err.message : String(err)})`,
      ]);
    }
  }
  const mqttConfig = settings.file.mqtt;
  // Loaded only when configured (MQTT.js takes ~0.5 s to import). Topic patterns are checked
  // before anything starts (VIGIL_ERR_CONFIG names the bad one).
  const mqttModule = mqttConfig ? await import('../ingest/mqtt/subscriber.js') : undefined;
  if (mqttConfig) mqttModule?.compileSubscriptions(mqttConfig.subscriptions);
  // Validated (and secrets read) before anything starts.
  const alertConfig = alertSettings(
    settings.file.alerts ?? {},
    `http://${settings.host}:${settings.port}`,
  );
  await mkdir(settings.dataDir, { recursive: true });
  const store: Store = await openStore({
    ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
    dataDir: path.join(settings.dataDir, 'pglite'),
    ...(storeConfig.retention_days === undefined
      ? {}
      : { retentionDays: storeConfig.retention_days }),
    ...(storeConfig.timescale === undefined ? {} : { timescale: storeConfig.timescale }),
  });
  for (const s of [...strategies, defaultStrategy]) {
    try {
      await store.strategies.save({
        name: s.strategy.name,
        version: s.strategy.version,
        yaml: s.yaml,
      });
    } catch (err) {
      if (!(err instanceof VigilError && err.code === 'VIGIL_ERR_STORE_CONFLICT')) throw err;
      warn(`${s.file}: ${err.message}`);
    }
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  removeTotalGauges(registry);
  const engine = await createEngine({
    store,
    registry,
    // By name: the same routing order hot reload keeps (docs/engine.md).
    strategies: strategies
      .map((s) => s.strategy)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    defaultStrategy: defaultStrategy.strategy,
    spoolDir: path.join(settings.dataDir, 'spool'),
    workers: engineConfig.workers ?? defaultWorkers(),
    resumeStrategies: true,
    // Running shadow runs score from the start, the spool replay included (docs/shadow.md).
    shadows: await runningShadows(store, (msg) => warn(msg)),
    ...(engineConfig.queue_limit === undefined ? {} : { queueLimit: engineConfig.queue_limit }),
    ...(engineConfig.checkpoint_every_ms === undefined
      ? {}
      : { checkpointEveryMs: engineConfig.checkpoint_every_ms }),
    log: (msg) => warn(msg),
  });

  engineGauges(registry, engine);
  const reloadFailures = strategyReloadFailuresCounter(registry);
  const slots = new StrategySlots({
    engine,
    store,
    log: (msg) => warn(msg),
    onFailure: (strategy) => reloadFailures.inc({ strategy }),
  });
  const shadows = await ShadowManager.open({
    engine,
    store,
    slots,
    registry,
    log: (msg) => warn(msg),
  });
  let started = false;
  const app = await buildHttpServer({
    engine,
    store,
    registry,
    logger: { level: settings.logLevel },
    limits: {
      ...(limits.body_bytes === undefined ? {} : { bodyBytes: limits.body_bytes }),
      ...(limits.points_per_request === undefined
        ? {}
        : { pointsPerRequest: limits.points_per_request }),
      ...(limits.buckets_per_query === undefined
        ? {}
        : { bucketsPerQuery: limits.buckets_per_query }),
    },
    isReady: () => started,
    strategies: slots,
    shadows,
  });
  await registerRemoteWriteRoutes(app, {
    engine,
    registry,
    ...remoteWriteOptions(settings.file.remote_write ?? {}),
  });
  await registerDashboard(app, { engine, store, acceptedPoints: () => engine.stats().accepted });
  const log = app.log;
  warn = (msg) => log.warn(msg);
  const influx = settings.file.influx ?? {};
  registerInfluxRoutes(app, {
    engine,
    registry,
    ...(limits.body_bytes === undefined ? {} : { bodyBytes: limits.body_bytes }),
    ...(limits.points_per_request === undefined
      ? {}
      : { linesPerRequest: limits.points_per_request }),
    mapping: {
      ...(influx.device_tag === undefined ? {} : { deviceTag: influx.device_tag }),
      ...(influx.metric_name === undefined ? {} : { metricName: influx.metric_name }),
    },
  });
  registerAlertRoutes(app, { deadLetters: store.deadLetters });
  const alerting = new Alerting({
    settings: alertConfig,
    deadLetters: store.deadLetters,
    registry,
    log: (msg) => log.warn(msg),
  });
  alerting.attach(engine);
  // Models present at start are served before the port opens; later changes hot-reload.
  // Imported only when asked for: onnxruntime's native library is large.
  const modelServing: ModelServing | undefined = settings.models
    ? await (
        await import('../serving/serve-models.js')
      ).startModelServing(
        app,
        registry,
        {
          dir: settings.models,
          ...(modelConfig.body_bytes === undefined ? {} : { bodyBytes: modelConfig.body_bytes }),
          ...(modelConfig.max_elements === undefined
            ? {}
            : { maxElements: modelConfig.max_elements }),
          ...(modelConfig.threads === undefined ? {} : { threads: modelConfig.threads }),
        },
        { info: (msg) => log.info(msg), warn: (msg) => log.warn(msg) },
      )
    : undefined;

  await app.listen({ port: settings.port, host: settings.host });
  const httpAddress = app.server.address() as AddressInfo;
  const grpc: GrpcServer = await startGrpcServer({
    engine,
    port: settings.grpcPort,
    host: settings.host,
  });
  const watcher = settings.strategies
    ? watchStrategyDir(
        {
          dir: settings.strategies,
          slots,
          log: (msg) => log.warn(msg),
          onFailure: (strategy) => reloadFailures.inc({ strategy }),
        },
        new Map(strategies.map((s) => [s.file, s.yaml])),
      )
    : undefined;
  // Connects in the background: a broker that is down is retried with backoff, not fatal.
  const mqttSubscriber: MqttSubscriber | undefined =
    mqttConfig && mqttModule
      ? await mqttModule.startMqttSubscriber({
          engine,
          registry,
          log,
          config: {
            url: mqttConfig.url,
            subscriptions: mqttConfig.subscriptions.map((sub) => ({
              topic: sub.topic,
              ...(sub.format === undefined ? {} : { format: sub.format }),
              ...(sub.timestamp_field === undefined ? {} : { timestampField: sub.timestamp_field }),
            })),
            ...optional('username', mqttConfig.username),
            ...optional('password', mqttConfig.password ?? process.env.VIGIL_MQTT_PASSWORD),
            ...optional('caFile', mqttConfig.ca_file),
            ...optional('certFile', mqttConfig.cert_file),
            ...optional('keyFile', mqttConfig.key_file),
            ...optional('clientId', mqttConfig.client_id),
            ...optional('maxPayloadBytes', mqttConfig.max_payload_bytes),
            ...optional('reconnectMinMs', mqttConfig.reconnect_min_ms),
            ...optional('reconnectMaxMs', mqttConfig.reconnect_max_ms),
            ...optional('keepaliveS', mqttConfig.keepalive_s),
          },
        })
      : undefined;
  const demo: DemoSource | undefined = settings.demo
    ? startDemo({ engine, log: (msg) => log.warn(msg) })
    : undefined;
  started = true;
  log.info(
    {
      http: `http://${settings.host}:${httpAddress.port}`,
      grpc: `${settings.host}:${grpc.port}`,
      store: store.info.backend,
      timescale: store.info.timescale,
      demo: settings.demo,
    },
    'vigil serving',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      watcher?.close();
      await demo?.stop();
      await mqttSubscriber?.stop();
      await Promise.all([app.close(), grpc.close()]);
      await shadows.close();
      await engine.close();
      await alerting.close();
      await modelServing?.close();
      await store.close();
      log.info('stopped');
      process.exitCode = 0;
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exitCode = 1;
    }
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
    .option('--no-demo', 'do not start the built-in demo source (env VIGIL_DEMO=false)')
    .action(async (flags: ServeFlags, command: Command) => {
      const settings = await resolveSettings(flags, command.getOptionValueSource('demo') === 'cli');
      await serve(settings);
    });
}
