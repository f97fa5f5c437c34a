/**
 * An app with every HTTP route `vigil serve` registers (the server's own, the serve routes, model
 * serving), each listed as it is registered, with an event `ev-1` and a running shadow run 1 to
 * aim the `:id` routes at. Shared by the tests that hold every route to a contract: the write
 * guard and authentication.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Authenticator } from '../../auth/scope.js';
import { registerServeRoutes } from '../../cli/serve-routes.js';
import { createEngine } from '../../engine/create-engine.js';
import type { Engine } from '../../engine/engine.js';
import { ShadowManager } from '../../engine/shadow/shadow-manager.js';
import { StrategySlots } from '../../engine/strategy-slots.js';
import { ModelRegistry } from '../../serving/model-registry.js';
import { registerModelRoutes } from '../../serving/model-routes.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { buildHttpServer } from '../http.js';

export const T0 = Date.UTC(2026, 0, 1);

export interface Route {
  readonly method: string;
  readonly url: string;
}

export const strategyYaml = (version: number) => `name: default
version: ${version}
description: candidate ${version}
detector:
  kind: ewzscore
  params:
    alpha: 0.05
threshold:
  kind: static
`;

/** A concrete URL for a route pattern: the shadow run, event and strategy the fixture made. */
export function concrete(url: string): string {
  return url
    .replace(':id/label', 'ev-1/label')
    .replace(':id', '1')
    .replace(':name', 'default')
    .replace('*', 'x');
}

export interface EveryRouteApp {
  readonly app: FastifyInstance;
  /** Every route and method, in registration order. */
  readonly routes: readonly Route[];
  readonly engine: Engine;
  readonly store: Store;
  readonly registry: Registry;
  close(): Promise<void>;
}

export async function startEveryRouteApp(
  options: {
    readonly auth?: Authenticator;
    /** Headers that let the fixture's own setup requests through (a token, with auth on). */
    readonly setupHeaders?: Record<string, string>;
    readonly registry?: Registry;
  } = {},
): Promise<EveryRouteApp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-every-route-'));
  const store = await openStore();
  const registry = options.registry ?? new Registry();
  const engine = await createEngine({
    store,
    registry,
    spoolDir: path.join(dir, 'spool'),
    checkpointEveryMs: 0,
  });
  const slots = new StrategySlots({ engine, store });
  const shadows = await ShadowManager.open({ engine, store, slots, saveEveryMs: 0, registry });
  const routes: Route[] = [];
  const app = await buildHttpServer({
    engine,
    store,
    registry,
    logger: { level: 'silent' },
    strategies: slots,
    shadows,
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    onRoute: (r) => {
      for (const method of [r.method].flat()) routes.push({ method, url: r.url });
    },
  });
  await registerServeRoutes(app, { engine, store, registry }, {});
  registerModelRoutes(app, registry, { models: new ModelRegistry(), dir: undefined });
  await app.ready();

  await store.events.upsert([
    {
      id: 'ev-1',
      device: 'pump',
      metric: 'temp',
      strategy: 'default',
      strategyVersion: 1,
      start: T0,
      end: T0 + 1000,
      peak: { time: T0, score: 0.9, values: { temp: 100 } },
      level: 'alert',
      points: 1,
      explanation: null,
    },
  ]);
  const shadow = await app.inject({
    method: 'POST',
    url: '/v1/shadows',
    headers: options.setupHeaders ?? {},
    payload: { yaml: strategyYaml(2) },
  });
  assert.equal(shadow.statusCode, 201, shadow.body);
  assert.equal(shadow.json<{ id: number }>().id, 1);

  return {
    app,
    routes,
    engine,
    store,
    registry,
    async close() {
      await app.close();
      await shadows.close();
      await engine.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
