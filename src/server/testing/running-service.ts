/**
 * For tests: the real engine on a PGlite store behind the real HTTP server on a real socket, with
 * `POST /v1/points` and any extra routes registered the way `vigil serve` registers them, all
 * metrics on one registry. One set-up for every test of an HTTP route, so they all exercise the
 * same wiring.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Authenticator } from '../../auth/scope.js';
import type { RateLimitOptions } from '../../auth/rate-limit.js';
import { createEngine } from '../../engine/create-engine.js';
import type { Engine } from '../../engine/engine.js';
import { registerPointsRoute } from '../../ingest/http/routes.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { buildHttpServer, type HttpLimits } from '../http.js';
import type { TlsSource } from '../../tls/reloader.js';

export interface TestService {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly engine: Engine;
  readonly store: Store;
  readonly registry: Registry;
  /** Close the server and the engine; the store too unless it was handed in. */
  stop(): Promise<void>;
}

export interface TestServiceOptions {
  /** A store shared between services (left open by `stop`); default: a new in-memory PGlite. */
  readonly store?: Store;
  readonly queueLimit?: number;
  readonly limits?: Partial<HttpLimits>;
  readonly rateLimits?: RateLimitOptions;
  /** `POST /v1/points`'s limit (default as in `vigil serve`). */
  readonly pointsPerRequest?: number;
  readonly heartbeatMs?: number;
  /** Serve HTTPS with this certificate (`url` is then https://). */
  readonly tls?: TlsSource;
  /** API tokens every route checks (src/auth); default none: authentication off. */
  readonly auth?: Authenticator;
  /** Register the routes under test, before the server listens. */
  readonly routes?: (service: {
    app: FastifyInstance;
    engine: Engine;
    store: Store;
    registry: Registry;
  }) => unknown;
}

export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-test-'));
  const store = options.store ?? (await openStore());
  const registry = new Registry();
  const engine = await createEngine({
    store,
    registry,
    spoolDir: path.join(dir, 'spool'),
    checkpointEveryMs: 0,
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
  });
  const app = await buildHttpServer({
    engine,
    store,
    registry,
    logger: { level: 'silent' },
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.tls && { tls: options.tls }),
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
  });
  await registerPointsRoute(app, {
    engine,
    registry,
    ...(options.pointsPerRequest === undefined
      ? {}
      : { pointsPerRequest: options.pointsPerRequest }),
  });
  await options.routes?.({ app, engine, store, registry });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    app,
    engine,
    store,
    registry,
    async stop() {
      await app.close();
      await engine.close();
      if (options.store === undefined) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `n` points of `device`, one a second from `from`, with two metrics and a tag. */
export function samplePoints(device: string, n: number, from = Date.UTC(2026, 0, 1)) {
  return Array.from({ length: n }, (_, i) => ({
    timestamp: from + i * 1000,
    device_id: device,
    metrics: { temp: 20 + (i % 5), load: i },
    tags: { site: 'a' },
  }));
}

/** `POST /v1/points` with a body as given. */
export async function postPoints(
  url: string,
  body: string | Uint8Array,
  type = 'application/json',
) {
  const res = await fetch(`${url}/v1/points`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as unknown };
}
