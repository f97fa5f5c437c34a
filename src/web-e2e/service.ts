/**
 * The real service for browser tests, in-process: PGlite (in memory), the live engine with a
 * spool in a temp dir, hot reload, shadow runs, and the HTTP API with every route `vigil serve`
 * registers (the dashboard and its sign-in included), on a free port, with or without tokens.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Authenticator } from '../auth/scope.js';
import { parseStrategy } from '../core/strategy/parse.js';
import { builtinStrategyPath } from '../strategy-files/load.js';
import type { Engine, IngestPoint } from '../engine/engine.js';
import { createEngine } from '../engine/create-engine.js';
import { ShadowManager } from '../engine/shadow/shadow-manager.js';
import { StrategySlots } from '../engine/strategy-slots.js';
import { registerServeRoutes } from '../cli/serve-routes.js';
import { Alerting } from '../alerts/alerting.js';
import { alertSettings, type AlertSettings } from '../alerts/config.js';
import { DurableFeed } from '../incidents/durable-feed.js';
import { buildHttpServer } from '../server/http.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

export interface TestService {
  readonly url: string;
  readonly engine: Engine;
  /** The service's store, for data put in underneath the API (a large fleet, say). */
  readonly store: Store;
  /** POST /v1/points; fails the test unless every point is accepted. */
  send(points: readonly IngestPoint[]): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** The tokens the service checks; default none (auth off). */
  readonly auth?: Authenticator;
  /** The token `send` presents as `Authorization: Bearer` (needed once ingest checks tokens). */
  readonly sendToken?: string;
  /** Storage to run on, left open by `stop` (a restart is a second service on it); default a new in-memory PGlite. */
  readonly store?: Store;
  /** Alert sinks, as `vigil serve` resolves them from its config (default: none). */
  readonly alerts?: AlertSettings;
  /**
   * Listen on this port (links in alerts need it known in advance; a restart on the same port
   * looks, to a page, like the service coming back); default any free one.
   */
  readonly port?: number;
}

/**
 * @param strategyYamls active strategies (stored too)
 * @param storedYamls versions only stored, not active (shadow candidates)
 */
export async function startService(
  strategyYamls: readonly string[],
  storedYamls: readonly string[] = [],
  options: ServiceOptions = {},
): Promise<TestService> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-web-e2e-'));
  const store = options.store ?? (await openStore());
  const defaultYaml = await readFile(builtinStrategyPath('default'), 'utf8');
  const strategies = strategyYamls.map((y) => parseStrategy(y, 'test strategy'));
  for (const [i, s] of strategies.entries()) {
    await store.strategies.save({ name: s.name, version: s.version, yaml: strategyYamls[i] ?? '' });
  }
  for (const yaml of storedYamls) {
    const s = parseStrategy(yaml, 'stored test strategy');
    await store.strategies.save({ name: s.name, version: s.version, yaml });
  }
  const defaultStrategy = parseStrategy(defaultYaml, 'default');
  await store.strategies.save({
    name: 'default',
    version: defaultStrategy.version,
    yaml: defaultYaml,
  });
  const registry = new Registry();
  const engine = await createEngine({
    store,
    registry,
    strategies,
    defaultStrategy,
    spoolDir: path.join(dir, 'spool'),
    checkpointEveryMs: 0,
  });
  // As `vigil serve`: events and incidents stored before the live feed and the alerts name them.
  const alerting = new Alerting({
    settings: options.alerts ?? alertSettings({}, 'http://127.0.0.1'),
    deadLetters: store.deadLetters,
    registry,
    log: () => undefined,
  });
  const durable = new DurableFeed({
    store,
    grouper: alerting.grouper,
    onIncident: (change) => alerting.notify(change),
    log: () => undefined,
  });
  durable.attach(engine);
  const served = durable.engine(engine);
  const slots = new StrategySlots({ engine, store });
  const shadows = await ShadowManager.open({ engine, store, slots, saveEveryMs: 0 });
  const app = await buildHttpServer({
    engine: served,
    store,
    registry,
    logger: { level: 'silent' },
    strategies: slots,
    shadows,
    ...(options.auth === undefined ? {} : { auth: options.auth }),
  });
  const { auth, sendToken } = options;
  const incidents = {
    ...(options.alerts === undefined ? {} : { publicUrl: options.alerts.publicUrl }),
    onAcknowledge: (i: { id: string; acknowledgedBy: string | null }) =>
      alerting.acknowledge({ id: i.id, by: i.acknowledgedBy }),
    onResolve: (i: { id: string }) => alerting.resolveByHand(i.id),
  };
  await registerServeRoutes(
    app,
    { engine: served, store, registry, incidents, ...(auth ? { auth } : {}) },
    {},
  );
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    engine,
    store,
    async send(points) {
      const res = await fetch(`${url}/v1/points`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(sendToken === undefined ? {} : { authorization: `Bearer ${sendToken}` }),
        },
        body: JSON.stringify(points),
      });
      const answer = (await res.json()) as { accepted: number; errors: unknown[] };
      if (res.status !== 200 || answer.accepted !== points.length) {
        throw new Error(`ingest: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
      }
    },
    async stop() {
      await app.close();
      await shadows.close();
      await engine.close();
      await durable.close();
      await alerting.close();
      if (options.store === undefined) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
