/**
 * Model serving as `vigil serve` starts it (`--models DIR`): the registry, the routes, the
 * directory watcher and the first load. `serve.ts` imports this module only when a model
 * directory is configured, so a service without one never loads the onnxruntime native library.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ModelRegistry } from './model-registry.js';
import { modelReloadFailuresCounter, registerModelRoutes } from './model-routes.js';
import { watchModelDir } from './model-watch.js';

export interface ModelServingConfig {
  readonly dir: string;
  readonly bodyBytes?: number;
  readonly maxElements?: number;
  readonly threads?: number;
  /** Watcher timing (tests); defaults as in model-watch.ts. */
  readonly debounceMs?: number;
  readonly rescanMs?: number;
}

export interface ModelServing {
  readonly models: ModelRegistry;
  /** Rescan the directory now; resolves when every change found has been handled. */
  scan(): Promise<void>;
  /** Stop watching and release every session (after the HTTP server closed). */
  close(): Promise<void>;
}

/**
 * Registers the routes on `app` (before it listens) and loads the models present now; later
 * changes of the directory hot-reload.
 */
export async function startModelServing(
  app: FastifyInstance,
  registry: Registry,
  config: ModelServingConfig,
  log: { info(msg: string): void; warn(msg: string): void },
): Promise<ModelServing> {
  const failures = modelReloadFailuresCounter(registry);
  const models = new ModelRegistry({
    ...(config.threads === undefined ? {} : { threads: config.threads }),
    log: (msg) => log.info(msg),
    onFailure: (model, reason) => {
      failures.inc({ model });
      log.warn(reason);
    },
  });
  registerModelRoutes(app, registry, {
    models,
    dir: config.dir,
    limits: {
      ...(config.bodyBytes === undefined ? {} : { bodyBytes: config.bodyBytes }),
      ...(config.maxElements === undefined ? {} : { maxElements: config.maxElements }),
    },
  });
  const watcher = watchModelDir({
    dir: config.dir,
    registry: models,
    log: (m) => log.warn(m),
    ...(config.debounceMs === undefined ? {} : { debounceMs: config.debounceMs }),
    ...(config.rescanMs === undefined ? {} : { rescanMs: config.rescanMs }),
  });
  await watcher.scan();
  return {
    models,
    scan: () => watcher.scan(),
    async close() {
      watcher.close();
      await models.close();
    },
  };
}
