/**
 * `vigil serve`'s config file (docs/operations.md): the schema composed of each subsystem's own
 * section, and reading a file with one VIGIL_ERR_CONFIG line per problem, naming the key.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { alertsConfigSchema } from '../alerts/config.js';
import { authSchema } from '../auth/config.js';
import { clusterSchema } from '../cluster/config.js';
import { rateLimitsSchema } from '../auth/rate-limit-config.js';
import { engineSchema } from '../engine/config.js';
import { VigilError } from '../errors.js';
import { influxSchema } from '../ingest/influx/config.js';
import { mqttSchema } from '../ingest/mqtt/config.js';
import { remoteWriteSchema } from '../ingest/remote-write/config.js';
import { limitsSchema } from '../server/config.js';
import { unitsSchema } from '../server/metric-units-config.js';
import { modelsSchema } from '../serving/config.js';
import { storeSchema } from '../store/config.js';
import { tlsSchema } from '../tls/config.js';

const port = z.number().int().min(0).max(65_535);

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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
    log_level: z.enum(logLevels),
    /** Most seconds `vigil serve` takes to stop, whatever the store is doing; default 10. */
    shutdown_timeout_s: z.number().positive().max(600),
    limits: limitsSchema,
    rate_limits: rateLimitsSchema,
    engine: engineSchema,
    models: modelsSchema,
    store: storeSchema,
    remote_write: remoteWriteSchema,
    influx: influxSchema,
    mqtt: mqttSchema,
    alerts: alertsConfigSchema,
    tls: tlsSchema,
    auth: authSchema,
    cluster: clusterSchema,
    /** Metric name → unit (or {unit, description}), applied at every start (docs/api.md, Units). */
    units: unitsSchema,
  })
  .partial()
  .strict();

export type ServeConfig = z.infer<typeof configSchema>;

export function configError(problems: readonly string[]): VigilError {
  return new VigilError('VIGIL_ERR_CONFIG', problems.join('\n'));
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function readConfigFile(file: string): Promise<ServeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw configError([`${file}: cannot read (${reason(err)})`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (err) {
    throw configError([`${file}: not YAML: ${reason(err)}`]);
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
