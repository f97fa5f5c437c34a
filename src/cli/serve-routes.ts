/**
 * The HTTP routes `vigil serve` adds to the server's own, each family registered by the
 * subsystem that owns it, with its options from the config file. Shared with the browser tests'
 * service, so they run what `serve` runs. Model serving is separate (loaded only when asked for).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Authenticator } from '../auth/scope.js';
import { registerAlertRoutes } from '../alerts/routes.js';
import { defined } from '../data/defined.js';
import type { Engine } from '../engine/engine.js';
import { registerPointsRoute } from '../ingest/http/routes.js';
import { influxOptions } from '../ingest/influx/config.js';
import { registerInfluxRoutes } from '../ingest/influx/routes.js';
import { remoteWriteOptions } from '../ingest/remote-write/config.js';
import { registerRemoteWriteRoutes } from '../ingest/remote-write/routes.js';
import { registerIncidentRoutes, type IncidentRouteDeps } from '../incidents/routes.js';
import { registerDashboard } from '../server/dashboard/routes.js';
import type { Store } from '../store/store.js';
import type { ServeConfig } from './serve-config.js';

export interface RouteDeps {
  readonly engine: Engine;
  readonly store: Store;
  readonly registry: Registry;
  /** The tokens the dashboard's sign-in checks (src/auth); default none: auth off. */
  readonly auth?: Authenticator;
  /** Mark the sign-in cookie `Secure`: set when the server speaks TLS. */
  readonly secureCookie?: boolean;
  /** Incident routes: links' base and who hears of acknowledgements (the alert sinks). */
  readonly incidents?: Omit<IncidentRouteDeps, 'incidents'>;
}

/** Before the app listens. */
export async function registerServeRoutes(
  app: FastifyInstance,
  { engine, store, registry, auth, secureCookie, incidents }: RouteDeps,
  config: ServeConfig,
): Promise<void> {
  const limits = config.limits ?? {};
  await registerPointsRoute(app, {
    engine,
    registry,
    ...defined({ pointsPerRequest: limits.points_per_request }),
  });
  await registerRemoteWriteRoutes(app, {
    engine,
    registry,
    units: store.metricUnits,
    ...remoteWriteOptions(config.remote_write ?? {}),
  });
  registerInfluxRoutes(app, { engine, registry, ...influxOptions(config.influx ?? {}, limits) });
  const acceptedPoints = () => engine.stats().accepted;
  await registerDashboard(app, {
    engine,
    store,
    acceptedPoints,
    ...defined({ auth, secureCookie }),
  });
  registerAlertRoutes(app, { deadLetters: store.deadLetters });
  registerIncidentRoutes(app, { incidents: store.incidents, ...incidents });
}
