/**
 * `vigil serve`'s settings, highest precedence first: command-line flag, environment variable,
 * config file (`--config`), default (docs/operations.md). Every problem is collected and thrown
 * as one VIGIL_ERR_CONFIG naming the flag, variable or key.
 */
import { exposureProblem } from '../auth/config.js';
import { clusterSettings, roles, type ClusterSettings, type Role } from '../cluster/config.js';
import { configError, logLevels, readConfigFile, type ServeConfig } from './serve-config.js';
import { resolveTlsFiles, type TlsFlags } from '../tls/config.js';
import type { TlsFiles } from '../tls/material.js';

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
  /** API tokens file (docs/security.md); none: authentication off, loopback only. */
  readonly authTokens: string | undefined;
  /** Serve a non-loopback address without authentication. */
  readonly insecure: boolean;
  readonly file: ServeConfig;
  /** HTTPS and gRPC over TLS with these files; undefined: plaintext (docs/operations.md). */
  readonly tls: TlsFiles | undefined;
  /** The process's cluster role and where NATS is (docs/cluster.md); `all` by default. */
  readonly cluster: ClusterSettings;
}

export interface ServeFlags extends TlsFlags {
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
  authTokens?: string;
  insecure?: boolean;
  role?: string;
  nats?: string;
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

/** A true/false environment variable (unset: false). */
function flagFromEnv(name: string, env: NodeJS.ProcessEnv, problems: string[]): boolean {
  const value = env[name];
  if (value === undefined || value === '' || /^(0|false|no|off)$/i.test(value)) return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  problems.push(`${name}: expected true or false, found ${JSON.stringify(value)}`);
  return false;
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
  const insecure = flags.insecure === true || flagFromEnv('VIGIL_INSECURE', env, problems);
  const levelPick = pick(flags.logLevel, '--log-level', ['VIGIL_LOG_LEVEL', 'LOG_LEVEL'], env);
  const logLevel = levelPick?.value ?? file.log_level ?? 'info';
  const levels: readonly string[] = logLevels;
  if (!levels.includes(logLevel)) {
    problems.push(
      `${levelPick?.source ?? 'log_level'}: expected one of ${levels.join(', ')}, found ${JSON.stringify(logLevel)}`,
    );
  }

  const rolePick = pick(flags.role, '--role', ['VIGIL_ROLE'], env);
  const role = rolePick?.value ?? file.cluster?.role ?? 'all';
  const roleNames: readonly string[] = roles;
  if (!roleNames.includes(role)) {
    problems.push(
      `${rolePick?.source ?? 'cluster.role'}: expected one of ${roles.join(', ')}, found ${JSON.stringify(role)}`,
    );
  }
  const nats = pick(flags.nats, '--nats', ['VIGIL_NATS_URL'], env)?.value ?? file.cluster?.nats;
  if (role === 'ingest' || role === 'scorer') {
    if (nats === undefined)
      problems.push(`--role ${role}: needs --nats (or VIGIL_NATS_URL, cluster.nats)`);
    if ((urlPick?.value ?? file.database_url) === undefined) {
      problems.push(
        `--role ${role}: needs a shared PostgreSQL store: --database-url (or DATABASE_URL, database_url)`,
      );
    }
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
    authTokens:
      pick(flags.authTokens, '--auth-tokens', ['VIGIL_AUTH_TOKENS'], env)?.value ??
      file.auth?.tokens_file,
    insecure,
    file,
    tls: resolveTlsFiles(flags, env, file.tls, problems),
    cluster: clusterSettings(file.cluster ?? {}, role as Role, nats),
  };
  const exposure = exposureProblem(settings.host, settings.authTokens, insecure);
  if (exposure !== undefined) problems.push(exposure);
  if (problems.length > 0) throw configError(problems);
  return settings;
}
